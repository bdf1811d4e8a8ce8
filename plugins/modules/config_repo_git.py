#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
from __future__ import annotations

DOCUMENTATION = r"""
module: config_repo_git
short_description: Refresh the private clone of the config repository, or push its commit, safely
version_added: 0.2.0
description:
  - Internal helper of the C(config_repo) role (entry points C(checkout) and C(publish)).
  - O(action=refresh) takes the lock of O(workdir) for this C(ansible-playbook) run (a directory
    C(.<name>.lock) beside it, held until the run ends; another run waits up to O(wait) seconds), then resets the
    clone to O(branch) of O(url) (fetch, C(checkout -f), C(reset --hard), C(clean -fdx)), or starts the branch from
    nothing when the remote has none.
  - Only a clone the collection created is reset (the marker C(.git/tidepool-eks-workdir)); a clone of an older
    version without the marker is adopted when it lies under O(cache) and its C(origin) is O(url). Someone's
    checkout, a C(git worktree) or a non-empty directory that is not a repository is refused, naming
    C(config_repo_workdir). Nothing is ever removed.
  - In check mode O(workdir) is not changed; the clone refreshed (and returned in RV(checkout)) is
    C(<workdir>.check), a second private clone, so that C(--check --diff) still compares with the remote.
  - The clone keeps C(core.symlinks=false); links it held are checked out again as plain files.
  - O(action=head) returns the commit O(branch) of O(url) points at (C(git ls-remote)), in RV(head); it reads only.
  - O(action=push) pushes C(HEAD) of O(workdir) to O(branch); when another run pushed first it fetches, rebases
    the collection's own commit and pushes again, up to O(retries) times. Never in check mode.
  - Credentials of an C(https://user:token@host/...) URL reach git only through its environment (a credential
    helper reading them); the clone's C(.git/config), the results and the messages hold the URL without them.
options:
  action:
    description: C(refresh) the clone, C(push) its commit, or read the remote branch's C(head).
    type: str
    choices: [refresh, push, head]
    required: true
  url:
    description: Git URL of the config repository (any URL git understands), without credentials.
    type: str
    required: true
  userinfo:
    description:
      - C(user:token) of an C(https://user:token@host/...) URL (percent-encoded as in the URL); reaches git through
        its environment only.
    type: str
    default: ""
  workdir:
    description:
      - The private clone (O(action=push) - the clone to push from, C(config_repo_checkout)).
      - Required with O(action=refresh) and O(action=push).
    type: path
  branch:
    description: Branch to reset the clone to, and to push.
    type: str
    default: master
  host:
    description:
      - Inventory host of the run (two hosts of one run cannot share a clone).
      - Required with O(action=refresh) and O(action=push).
    type: str
  wait:
    description:
      - Seconds to wait for another run holding the lock of O(workdir). With V(0), a busy lock is returned in
        RV(busy) without waiting (the role then says who holds it, and waits).
    type: int
    default: 0
  cache:
    description: Directory under which clones of older versions (without the marker) are adopted.
    type: path
    default: ~/.cache/tidepool-eks/checkouts
  retries:
    description: O(action=push) - pushes again after a lost race, at most this many times.
    type: int
    default: 3
  author_name:
    description: O(action=push) - committer of the rebased commits.
    type: str
    default: tidepool.eks
  author_email:
    description: O(action=push) - committer email of the rebased commits.
    type: str
    default: ""
extends_documentation_fragment:
  - tidepool.eks.attributes
attributes:
  check_mode:
    support: full
    details: Refreshes C(<workdir>.check) instead of O(workdir); O(action=push) does nothing.
  diff_mode:
    support: none
  idempotent:
    support: full
    details: A refresh reports no change (it only touches the private clone); a push changes the remote branch.
author:
  - Tidepool EKS maintainers (@tidepool-org)
"""

EXAMPLES = r"""
- name: Refresh the private clone
  tidepool.eks.config_repo_git:
    action: refresh
    url: https://github.com/org/cluster-test1.git
    userinfo: "bot:{{ lookup('env', 'CONFIG_REPO_TOKEN') }}"
    workdir: ~/.cache/tidepool-eks/checkouts/test1-0123456789
    branch: master
    host: "{{ inventory_hostname }}"
    wait: 1800
"""

RETURN = r"""
checkout:
  description: The clone that was refreshed (O(workdir), or C(<workdir>.check) in check mode).
  returned: action=refresh, unless busy
  type: str
remote:
  description: The URL git uses, without credentials.
  returned: always
  type: str
workdir_state:
  description: C(absent) (the clone was created), C(ours) or C(adoptable) (a clone of an older version, adopted).
  returned: action=refresh, unless busy
  type: str
busy:
  description: With O(wait=0), who holds the lock (empty when it was taken).
  returned: action=refresh
  type: str
rc:
  description: 0, the clone is at the remote branch.
  returned: action=refresh, unless busy
  type: int
head:
  description: The commit the branch points at (O(action=refresh) - the clone's, "" for a new branch; O(action=push) -
    the commit pushed, after a rebase when a race was lost).
  returned: action=head, refresh or push
  type: str
attempts:
  description: Pushes made (more than 1 after lost races).
  returned: action=push
  type: int
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tidepool.eks.plugins.module_utils.common import runner
from ansible_collections.tidepool.eks.plugins.module_utils.repository import config_repo


def main():
    module = AnsibleModule(
        argument_spec=dict(
            action=dict(type="str", choices=["refresh", "push", "head"], required=True),
            url=dict(type="str", required=True),
            userinfo=dict(type="str", default="", no_log=True),
            workdir=dict(type="path"),
            branch=dict(type="str", default="master"),
            host=dict(type="str"),
            wait=dict(type="int", default=0),
            cache=dict(type="path", default="~/.cache/tidepool-eks/checkouts"),
            retries=dict(type="int", default=3),
            author_name=dict(type="str", default="tidepool.eks"),
            author_email=dict(type="str", default=""),
        ),
        supports_check_mode=True,
        required_if=[("action", "refresh", ("workdir", "host")), ("action", "push", ("workdir", "host"))],
    )
    p = module.params

    def work():
        if p["action"] == "head":
            return config_repo.head(p)
        if p["action"] == "push":
            return config_repo.push(p, module.check_mode)
        return config_repo.refresh(p, module.check_mode)

    runner.run(module, work)


if __name__ == "__main__":
    main()
