# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Flux v2 bootstrap: what ``flux bootstrap`` installs and commits, as objects and as config repository files.

* the components (:mod:`.components`: Namespace ``flux-system``, CRDs, controllers), applied as they are in
  ``flux-system/gotk-components.yaml``, so the controllers' own later sync of that file changes nothing;
* the sync objects of ``flux-system/gotk-sync.yaml`` (:func:`sync_objects`): GitRepository ``flux-system`` (the
  config repository over SSH, ``secretRef: flux-system``) and Kustomization ``flux-system`` applying
  ``./<git_path>`` with ``prune: true``;
* the deploy key Secret ``flux-system/flux-system`` (:func:`deploy_key_secret`) with the keys ``flux bootstrap``
  writes: ``identity`` (OpenSSH private key), ``identity.pub``, ``known_hosts``, and for an ``http(s)`` URL with
  credentials ``username`` / ``password`` (as ``flux create secret git --username --password`` writes them). It
  is not in the repository: the GitRepository's URL never carries credentials (:func:`sync_url` strips them),
  source-controller reads them through ``secretRef``.

:func:`repository_files` gives the three files under ``clusters/<cluster>/flux/flux-system/``.
"""
from __future__ import annotations

import base64
import re

try:
    import yaml
except ImportError:  # pragma: no cover - Ansible itself needs PyYAML
    yaml = None

from ansible_collections.tidepool.eks.plugins.module_utils.crypto import ssh_keys
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.errors import FluxBootstrapError
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v2 import components
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v2 import customization
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v2.releases import SOURCE_API_VERSION
from ansible_collections.tidepool.eks.plugins.module_utils.repository import credentials, git_url as git_urls

NAME = "flux-system"
KUSTOMIZE_API_VERSION = "kustomize.toolkit.fluxcd.io/v1"
#: Keys of the deploy key Secret, as ``flux bootstrap`` / ``flux create secret git`` write them.
IDENTITY, IDENTITY_PUB, KNOWN_HOSTS = "identity", "identity.pub", "known_hosts"
#: Keys of HTTP basic auth in the same Secret (``flux create secret git --username --password``).
USERNAME, PASSWORD = "username", "password"
#: How often the Kustomization re-applies the tree (``flux bootstrap``'s default).
KUSTOMIZATION_INTERVAL = "10m0s"
#: GitHub's published SSH host keys (docs.github.com, "GitHub's SSH key fingerprints"): the ``known_hosts`` of a
#: config repository on github.com when none is given, so no ``ssh-keyscan`` (trust on first use) is needed.
GITHUB_KNOWN_HOSTS = (
    "github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n"
    "github.com ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBEmKSENjQEezOmxkZMy7opKgwFB9"
    "nkt5YRrYMjNuG5N87uRgg6CLrbo5wAdT/y6v0mKV0U2w0WZ2YB/++Tpockg=\n")

_SCP_RE = re.compile(r"^(?P<user>[^@/:]+)@(?P<host>[^:/]+):(?P<path>[^/].*)$")


def sync_url(git_url: str) -> str:
    """The GitRepository URL of ``git_url``: ``git@host:owner/repo.git`` becomes ``ssh://git@host/owner/repo.git``
    (what ``flux bootstrap`` writes; the CRD takes ``http(s)://`` and ``ssh://`` only); an ``http(s)`` URL loses
    its ``user:password@`` (the credentials go to the Secret, :func:`deploy_key_secret`). Raises
    FluxBootstrapError naming ``git_url`` (without credentials) for any other scheme (``git://``, ``file://``)."""
    git_url = credentials.split(git_url).public
    match = _SCP_RE.match(git_url)
    if match:
        return f"ssh://{match['user']}@{match['host']}/{match['path']}"
    if re.match(r"^(ssh|https?)://", git_url):
        return git_url
    raise FluxBootstrapError(f"git_url={git_url!r}: Flux v2's GitRepository reads ssh://, git@host:path or "
                             "http(s):// URLs only.")


def git_host(git_url: str) -> str:
    """The host name of ``git_url`` (SSH or URL form), lower case. Raises FluxBootstrapError naming the URL when
    its host cannot be read unambiguously."""
    try:
        return git_urls.host(sync_url(git_url)) or ""
    except git_urls.GitUrlError as exc:
        raise FluxBootstrapError(f"git_url {exc}") from None


def known_hosts(spec: dict) -> str:
    """``spec['known_hosts']`` when set, else GitHub's published keys for a github.com repository. Raises
    FluxBootstrapError asking for ``known_hosts`` for another host of an SSH URL (nothing is scanned)."""
    if spec.get("known_hosts"):
        return spec["known_hosts"].strip() + "\n"
    host = git_host(spec["git_url"])
    if host == "github.com":
        return GITHUB_KNOWN_HOSTS
    if sync_url(spec["git_url"]).startswith("ssh://"):
        raise FluxBootstrapError(f"known_hosts is required for the SSH host {host} of git_url (the lines of "
                                 f"`ssh-keyscan {host}`, checked against the host's published keys).")
    return ""


_DURATION_RE = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def go_duration(value: str) -> str:
    """A duration in Go's canonical form (``time.Duration.String``), as Flux's CLI writes it: ``1m`` -> ``1m0s``,
    ``90s`` -> ``1m30s``, ``1h`` -> ``1h0m0s``. Both writers of the sync objects (the config repository's
    ``gotk-sync.yaml`` and ``flux_bootstrap``) use it, so Flux's sync of the file changes nothing. Anything else
    (``500ms``) is returned unchanged."""
    match = _DURATION_RE.match(str(value).strip())
    if not match or not any(match.groups()):
        return str(value)
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    total = hours * 3600 + minutes * 60 + seconds
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{seconds}s"
    return f"{minutes}m{seconds}s" if minutes else f"{seconds}s"


def sync_objects(cluster_path: str, git_url: str, branch: str, interval: str = "1m0s") -> list[dict]:
    """GitRepository and Kustomization ``flux-system`` (``gotk-sync.yaml``): the config repository at
    ``branch`` polled every ``interval`` (:func:`go_duration`); the Kustomization applies ``./<cluster_path>`` with
    ``prune: true``."""
    interval = go_duration(interval)
    return [
        {"apiVersion": SOURCE_API_VERSION, "kind": "GitRepository",
         "metadata": {"name": NAME, "namespace": components.NAMESPACE},
         "spec": {"interval": interval, "ref": {"branch": branch}, "secretRef": {"name": NAME},
                  "url": sync_url(git_url)}},
        {"apiVersion": KUSTOMIZE_API_VERSION, "kind": "Kustomization",
         "metadata": {"name": NAME, "namespace": components.NAMESPACE},
         "spec": {"interval": KUSTOMIZATION_INTERVAL, "path": f"./{cluster_path.strip('/')}", "prune": True,
                  "sourceRef": {"kind": "GitRepository", "name": NAME}}},
    ]


def deploy_key_secret(spec: dict, private_key: bytes) -> dict:
    """Secret ``flux-system/flux-system``: ``identity``, ``identity.pub``, ``known_hosts`` (base64 ``data``), and
    ``username`` / ``password`` when ``spec`` holds ``git_username`` (an ``http(s)`` URL with credentials:
    source-controller's basic auth). ``private_key`` may be empty when only the object's identity matters
    (state=absent)."""
    public = ssh_keys.public_line(ssh_keys.load_private(private_key)) + "\n" if private_key else ""
    hosts = known_hosts(spec) if spec.get("git_url") else ""
    data = {IDENTITY: private_key, IDENTITY_PUB: public.encode(), KNOWN_HOSTS: hosts.encode()}
    if spec.get("git_username") is not None:
        data.update({USERNAME: spec["git_username"].encode(), PASSWORD: (spec.get("git_password") or "").encode()})
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": NAME, "namespace": components.NAMESPACE},
            "data": {k: base64.b64encode(v).decode() for k, v in data.items()}}


def objects(spec: dict, private_key: bytes, install: list) -> list[dict]:
    """Every object of the install in apply order: ``install`` (the components' objects, :func:`components.parse`)
    with the deploy key Secret after its Namespace and CRDs, then :func:`sync_objects`."""
    first = [o for o in install if o["kind"] in ("Namespace", "CustomResourceDefinition")]
    rest = [o for o in install if o["kind"] not in ("Namespace", "CustomResourceDefinition")]
    sync = sync_objects(spec["git_path"], spec["git_url"], spec["git_branch"], spec["git_poll_interval"]) \
        if spec.get("git_url") else sync_objects(spec["git_path"], "ssh://placeholder/", "main")
    # the components' customization, as flux-system/kustomization.yaml patches them (Flux's sync then changes nothing)
    return customization.apply(first + [deploy_key_secret(spec, private_key)] + rest + sync)


def kustomization_file() -> dict:
    """``flux-system/kustomization.yaml``: the two files, as ``flux bootstrap`` writes it, and the components'
    customization patches (:func:`customization.kustomize_patches`: the controllers' scaling, then the lockdown)."""
    return {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
            "resources": ["gotk-components.yaml", "gotk-sync.yaml"],
            "patches": customization.kustomize_patches()}


def _dump(objects: list) -> str:
    return "---\n" + "---\n".join(yaml.safe_dump(o, default_flow_style=False, sort_keys=False) for o in objects)


def repository_files(flux_path: str, components_text: str, git_url: str, branch: str, interval: str = "1m0s") -> dict:
    """``{path: text}`` of ``<flux_path>/flux-system/{gotk-components,gotk-sync,kustomization}.yaml``.
    ``components_text``: the components file as fetched (written unchanged, checked by :func:`components.parse`).
    Raises FluxBootstrapError when it is not a Flux install or ``git_url`` has no Flux v2 form."""
    components.parse(components_text)
    base = f"{flux_path.strip('/')}/{NAME}"
    return {f"{base}/gotk-components.yaml": components_text,
            f"{base}/gotk-sync.yaml": _dump(sync_objects(flux_path, git_url, branch, interval)),
            f"{base}/kustomization.yaml": _dump([kustomization_file()])}
