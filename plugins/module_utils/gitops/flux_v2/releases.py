# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""How Flux v2 installs charts: helm-controller ``HelmRelease`` objects (``helm.toolkit.fluxcd.io/v2``) whose
``chart.spec.sourceRef`` names a source-controller ``HelmRepository`` (``source.toolkit.fluxcd.io/v1``) or, for a
chart kept in git, a ``GitRepository`` at the inventory's ``path`` and ``ref``, always in the release's own
namespace (helm-controller runs with ``--no-cross-namespace-refs``: :mod:`.lockdown`); a catalogue repository's
HelmRepository keeps the catalogue's name. Each release installs as the ServiceAccount :data:`RELEASE_ACCOUNT` of
its namespace (``--default-service-account``; the account and its rights are :mod:`.tenancy`'s).

Git URLs: the CRD accepts ``http(s)://`` and ``ssh://`` only, and SSH needs a key Secret, so the install guide's
scp-like ``git@<host>:<path>`` becomes ``https://<host>/<path>`` (public chart repositories); ``http(s)://`` and
``ssh://`` URLs pass unchanged. Refs: ``refs/...`` is a full ref name, 40 hexadecimal digits a commit, anything
else a branch (the guide's ``k8s``, ``master``).
"""
from __future__ import annotations

import re

HELM_RELEASE_API_VERSION = "helm.toolkit.fluxcd.io/v2"
SOURCE_API_VERSION = "source.toolkit.fluxcd.io/v1"
KIND = "HelmRelease"
#: How often helm-controller reconciles a release, source-controller fetches an index or a git chart.
RELEASE_INTERVAL = "10m"
REPOSITORY_INTERVAL = "1h"
GIT_INTERVAL = "10m"
#: The ServiceAccount (in the release's namespace) helm-controller impersonates to install a release.
RELEASE_ACCOUNT = "helm-release"

_SCP_RE = re.compile(r"^(?:[\w.-]+@)?(?P<host>[\w.-]+):(?P<path>[^/].*)$")
_SHA_RE = re.compile(r"^[0-9a-f]{40}$")


def git_url(url: str) -> str:
    """A GitRepository URL from a chart's ``git`` (see module docstring)."""
    if re.match(r"^(https?|ssh)://", url):
        return url
    match = _SCP_RE.match(url)
    if not match:
        raise ValueError(f"git URL {url!r} is neither scp-like (git@host:path) nor http(s):// or ssh://")
    return f"https://{match['host']}/{match['path']}"


def git_ref(ref: str) -> dict:
    """``spec.ref`` of a GitRepository from a chart's ``ref`` (see module docstring)."""
    ref = str(ref)
    if ref.startswith("refs/"):
        return {"name": ref}
    if _SHA_RE.match(ref):
        return {"commit": ref}
    return {"branch": ref}


def helm_repository(name: str, namespace: str, url: str) -> dict:
    """A ``HelmRepository`` named ``name``: an HTTP chart repository (``index.yaml``), or ``type: oci`` for an OCI
    registry URL (``oci://...``, such as an ECR chart mirror)."""
    spec = {"url": url, "interval": REPOSITORY_INTERVAL}
    if str(url).startswith("oci://"):
        spec["type"] = "oci"
    return {"apiVersion": SOURCE_API_VERSION, "kind": "HelmRepository",
            "metadata": {"name": name, "namespace": namespace}, "spec": spec}


def git_repository(name: str, namespace: str, chart: dict) -> dict:
    """The ``GitRepository`` of a git chart (``{git, path, ref}``)."""
    return {"apiVersion": SOURCE_API_VERSION, "kind": "GitRepository",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"url": git_url(chart["git"]), "ref": git_ref(chart.get("ref") or "master"),
                     "interval": GIT_INTERVAL}}


def chart_source_name(release: str) -> str:
    """Name of the GitRepository (or HelmRepository of a repository outside the catalogue) a release owns."""
    return f"{release}-chart"


def chart_spec(name: str, namespace: str, chart: dict, repositories: dict) -> dict:
    """``spec.chart.spec`` of release ``name``: from a catalogue repository (``repositories``: url -> name), the
    release's own HelmRepository (another repository URL) or its GitRepository, each in ``namespace``."""
    if "git" in chart:
        return {"chart": "./" + str(chart["path"]).strip("/"), "reconcileStrategy": "Revision",
                "sourceRef": {"kind": "GitRepository", "name": chart_source_name(name), "namespace": namespace}}
    url = chart["repository"]
    if url in repositories:
        ref = {"kind": "HelmRepository", "name": repositories[url], "namespace": namespace}
    else:
        ref = {"kind": "HelmRepository", "name": chart_source_name(name), "namespace": namespace}
    return {"chart": chart["name"], "version": str(chart["version"]), "sourceRef": ref}


def own_sources(name: str, namespace: str, chart: dict, repositories: dict) -> list[dict]:
    """The source of release ``name``, in its namespace: its GitRepository (git chart), the catalogue repository's
    HelmRepository (named as in ``repositories``: url -> name) or a HelmRepository of its own (another URL)."""
    if "git" in chart:
        return [git_repository(chart_source_name(name), namespace, chart)]
    if chart["repository"] in repositories:
        return [helm_repository(repositories[chart["repository"]], namespace, chart["repository"])]
    return [helm_repository(chart_source_name(name), namespace, chart["repository"])]


def keep_crds_post_renderer() -> dict:
    """A ``spec.postRenderers`` entry: a Kustomize patch adding ``helm.sh/resource-policy: keep`` to every
    ``CustomResourceDefinition`` of the rendered chart, so ``helm uninstall`` (a deleted HelmRelease, a reinstall
    after a failed upgrade) leaves the CRDs, and every object of their kinds, in place (helm's documented
    resource policy; helm-controller's Kustomize post-renderer)."""
    return {"kustomize": {"patches": [{
        "target": {"group": "apiextensions.k8s.io", "version": "v1", "kind": "CustomResourceDefinition"},
        # A strategic-merge patch (a JSON patch ``add`` fails on a CRD without annotations); with a target,
        # Kustomize applies it to every match whatever the patch's own name.
        "patch": ("apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n"
                  "  name: any\n  annotations:\n    helm.sh/resource-policy: keep\n")}]}}


def helm_release(name: str, namespace: str, spec: dict, values: dict, *, release_name: str | None = None,
                 depends_on=None, server_side_apply: bool = True, keep_crds: bool = False) -> dict:
    """A ``HelmRelease`` (``helm.toolkit.fluxcd.io/v2``) with ``spec.chart.spec`` = ``spec`` (:func:`chart_spec`),
    Helm release name ``release_name`` (default ``name``), installed as :data:`RELEASE_ACCOUNT`, ``dependsOn`` = ``depends_on`` (``[{name, namespace}]``,
    only when not empty) and ``values``. Without ``server_side_apply`` the install and upgrades apply client-side
    (``install.serverSideApply: false``, ``upgrade.serverSideApply: disabled``; helm-controller's default is
    server-side, Helm 4's). With ``keep_crds`` a post-renderer (:func:`keep_crds_post_renderer`) annotates every
    CRD the chart renders as a template ``helm.sh/resource-policy: keep``."""
    out = {"interval": RELEASE_INTERVAL, "releaseName": release_name or name, "chart": {"spec": spec},
           "serviceAccountName": RELEASE_ACCOUNT}
    if depends_on:
        out["dependsOn"] = [dict(d) for d in depends_on]
    # CRDs of a chart's crds/ directory are created and updated with the chart (helm-controller skips updates by
    # default), so a release that needs another's CRDs (dependsOn) sees the current ones.
    out["install"] = {"crds": "CreateReplace"}
    out["upgrade"] = {"crds": "CreateReplace"}
    if not server_side_apply:
        out["install"]["serverSideApply"] = False
        out["upgrade"]["serverSideApply"] = "disabled"
    if keep_crds:
        out["postRenderers"] = [keep_crds_post_renderer()]
    out["values"] = values
    return {"apiVersion": HELM_RELEASE_API_VERSION, "kind": KIND,
            "metadata": {"name": name, "namespace": namespace}, "spec": out}
