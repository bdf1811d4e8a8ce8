#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
from __future__ import annotations

DOCUMENTATION = r"""
module: github_deploy_key
short_description: Ensure one deploy key on a GitHub or GitHub Enterprise repository
description:
  - Replaces the C(curl) to GitHub's API in the Tidepool install guide's C(make_flux), which posted the Flux key
    again on every run and hard-coded the C(tidepool-org) organisation.
  - Idempotent by key material (key type and data; the comment is ignored, as GitHub does), over every page of the
    repository's deploy keys. A key whose title or O(read_only) drifted is replaced (GitHub cannot edit a deploy
    key, so it is deleted and added again). Duplicates of the key on the repository are removed.
  - Returns the key id also when nothing changed.
  - Check mode only reads; it neither adds nor deletes a key.
version_added: 0.1.0
author:
  - Tidepool EKS maintainers (@tidepool-org)
options:
  repository:
    description:
      - The repository, as C(owner/name) or any git URL form (C(git@github.com:owner/name.git),
        C(ssh://git@github.com/owner/name.git), C(https://github.com/owner/name)).
      - Without O(api_url) and C(GITHUB_API_URL), the token goes to C(https://api.github.com), and only for
        C(owner/name) or a URL whose host is exactly C(github.com); a URL on any other host (a GitHub Enterprise
        server, or a look-alike such as C(git@github.com.evil.example:o/r.git)) is refused until O(api_url)
        names its API. No API URL is derived from the repository's host.
    type: str
    required: true
  key:
    description:
      - The public key, an OpenSSH public key line (for example the RV(tidepool.eks.flux_bootstrap#module:deploy_key)
        C(public_key) of M(tidepool.eks.flux_bootstrap)).
    type: str
    required: true
  title:
    description:
      - Title of the key on GitHub. Defaults to C(flux key for <cluster>) when O(cluster) is given.
      - Required when O(state=present) and O(cluster) is not given.
    type: str
  cluster:
    description:
      - Name of the cluster whose Flux uses the key; gives the default O(title).
    type: str
  read_only:
    description:
      - Whether the key can only read. Flux v1 writes (it moves the sync tag), so the default is V(false).
    type: bool
    default: false
  supersede:
    description:
      - With O(state=present), also delete every other deploy key of the repository that has the same O(title), the
        earlier keys of the same owner, such as the Flux key of a cluster that was lost and rebuilt (its private half
        died with the cluster, its access would stay). They are deleted after the key is in place.
      - The title C(flux key for <cluster>) names one cluster; a key someone added by hand under that title goes too.
    type: bool
    default: false
    version_added: 0.2.0
  state:
    description:
      - V(present) adds the key (or replaces a drifted one); V(absent) removes every copy of the key.
    type: str
    choices: [present, absent]
    default: present
  token:
    description:
      - GitHub token with admin rights on the repository (classic scope C(repo), or fine-grained
        C(Administration) read and write). Defaults to C($GITHUB_TOKEN).
    type: str
  api_url:
    description:
      - Base URL of the API, the only origin the token is sent to. C(https://api.github.com) for github.com,
        C(https://<host>/api/v3) for GitHub Enterprise Server. Defaults to C($GITHUB_API_URL), else
        C(https://api.github.com) for a repository on github.com (see O(repository)).
      - Pagination (C(Link rel=next)) and redirects are followed only on this scheme, host and port; a link
        elsewhere fails, naming it.
    type: str
  validate_certs:
    description:
      - Verify the API's TLS certificate.
    type: bool
    default: true
  timeout:
    description:
      - Timeout of each API call, in seconds.
    type: int
    default: 30
  retries:
    description:
      - Retries of a call GitHub answers with a rate limit (403 or 429 with C(retry-after) or
        C(x-ratelimit-remaining=0), a secondary rate limit) or a 5xx error. The wait is the C(retry-after) (or the
        rate limit's reset time) GitHub gives, else 1 s doubled each retry; a wait over 60 s is not made, the task
        fails saying when to retry. V(0) disables retries.
    type: int
    default: 5
attributes:
  check_mode:
    support: full
    description: Lists the keys only; reports the create, replace or delete a real run would make.
  diff_mode:
    support: full
    description: Before and after title, read_only and fingerprint of the key.
  idempotent:
    support: full
    description: A key with the same material, title and read_only is left alone and reported unchanged.
notes:
  - A rate limit is reported as one (with when to retry), never as a missing permission; only a 403 without rate
    limit headers means the token lacks admin rights on the repository.
  - GitHub accepts a key as a deploy key of one repository only; a key already in use elsewhere fails with a message
    saying so. Generate a new key (M(tidepool.eks.flux_bootstrap) O(tidepool.eks.flux_bootstrap#module:rotate_deploy_key=true)).
seealso:
  - module: tidepool.eks.flux_bootstrap
  - name: GitHub REST API, deploy keys
    description: The endpoints this module calls.
    link: https://docs.github.com/en/rest/deploy-keys/deploy-keys
"""

EXAMPLES = r"""
- name: Let Flux of cluster test1 read and write its config repository
  tidepool.eks.github_deploy_key:
    repository: git@github.com:tidepool-org/cluster-test1.git
    key: "{{ flux.deploy_key.public_key }}"
    cluster: test1

- name: A read-only key on GitHub Enterprise Server
  tidepool.eks.github_deploy_key:
    repository: platform/cluster-test1
    api_url: https://github.example.com/api/v3
    key: "{{ lookup('ansible.builtin.file', 'id_ed25519.pub') }}"
    title: ci read access
    read_only: true

- name: Remove the key
  tidepool.eks.github_deploy_key:
    repository: tidepool-org/cluster-test1
    key: "{{ old_public_key }}"
    state: absent
"""

RETURN = r"""
operation:
  description: What was done (or, in check mode, would be done) - V(none), V(create), V(replace), V(delete).
  returned: always
  type: str
  sample: none
key:
  description: The deploy key on the repository (null when absent). In check mode a predicted key has a null id.
  returned: always
  type: dict
  contains:
    id:
      description: GitHub's id of the key.
      type: int
      sample: 123456
    title:
      description: Title of the key.
      type: str
      sample: flux key for test1
    read_only:
      description: Whether the key can only read.
      type: bool
      sample: false
    url:
      description: API URL of the key.
      type: str
      sample: https://api.github.com/repos/tidepool-org/cluster-test1/keys/123456
    fingerprint:
      description: SHA256 fingerprint of the key.
      type: str
      sample: SHA256:3x9Lw0J1Bz3...
superseded:
  description: The other keys titled O(title) that O(supersede) deleted (in check mode, would delete), each as in RV(key).
  returned: always
  type: list
  elements: dict
  sample: [{id: 42, title: flux key for test1, read_only: false, fingerprint: "SHA256:Yq1c..."}]
repository:
  description: C(owner/name) the module worked on and the API URL used.
  returned: always
  type: dict
  sample: {full_name: tidepool-org/cluster-test1, api_url: "https://api.github.com"}
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.urls import open_url

from ansible_collections.tidepool.eks.plugins.module_utils.common import naming, runner
from ansible_collections.tidepool.eks.plugins.module_utils.github import deploy_key as core
from ansible_collections.tidepool.eks.plugins.module_utils.repository import credentials


def make_request(token: str, validate_certs: bool, timeout: int):
    """``request(method, url, body) -> (status, lower-case headers, parsed JSON or None)`` over open_url."""
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json",
               "X-GitHub-Api-Version": "2022-11-28", "User-Agent": "tidepool.eks-github_deploy_key"}

    def request(method, url, body):
        data = json.dumps(body) if body is not None else None
        hdrs = dict(headers, **({"Content-Type": "application/json"} if data else {}))
        try:
            resp = open_url(url, method=method, data=data, headers=hdrs, validate_certs=validate_certs,
                            timeout=timeout, follow_redirects="none")  # core.Repository follows same-origin ones
            status, raw, resp_headers = resp.status if hasattr(resp, "status") else resp.getcode(), resp.read(), resp.headers
        except HTTPError as exc:
            status, raw, resp_headers = exc.code, exc.read() if exc.fp else b"", exc.headers
        except URLError as exc:
            raise core.GitHubError(f"Cannot reach the GitHub API at {url.split('/repos/')[0]}: {exc.reason}; check api_url.") from None
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        return status, {k.lower(): v for k, v in (resp_headers or {}).items()}, parsed

    return request


def main():
    module = AnsibleModule(
        argument_spec=dict(
            repository=dict(type="str", required=True),
            key=dict(type="str", required=True, no_log=False),
            title=dict(type="str"),
            cluster=dict(type="str"),
            read_only=dict(type="bool", default=False),
            supersede=dict(type="bool", default=False),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            token=dict(type="str", no_log=True),
            api_url=dict(type="str"),
            validate_certs=dict(type="bool", default=True),
            timeout=dict(type="int", default=30),
            retries=dict(type="int", default=core.RETRIES),
        ),
        supports_check_mode=True,
    )
    p = module.params
    given = credentials.split(p["repository"] or "")  # a token URL as repository: masked in every output
    if given.has_credentials:
        module.no_log_values.add(given.password or given.username)

    def work():
        token = p["token"] or os.environ.get("GITHUB_TOKEN")
        if not token:
            raise runner.Failure("token is required: pass token or set GITHUB_TOKEN (a token with admin rights on "
                                 "the repository).")
        title = p["title"] or (naming.deploy_key_title(p["cluster"]) if p["cluster"] else None)
        if p["state"] == "present" and not title:
            raise runner.Failure("title is required when cluster is not given (the default title is "
                                 "'flux key for <cluster>').")
        owner, name, host = core.parse_repository(p["repository"])
        api_url = core.api_url_for(p["api_url"], os.environ.get("GITHUB_API_URL"), host)
        if p["retries"] < 0:
            raise runner.Failure(f"retries must be 0 or more, got {p['retries']}.")
        repo = core.Repository(make_request(token, p["validate_certs"], p["timeout"]), api_url, owner, name,
                               retries=p["retries"])
        result = core.ensure(repo, p["key"], title, p["read_only"], p["state"], module.check_mode, p["supersede"])
        return dict(result, repository={"full_name": f"{owner}/{name}", "api_url": api_url})

    runner.run(module, work, errors=(core.GitHubError,))


if __name__ == "__main__":
    main()
