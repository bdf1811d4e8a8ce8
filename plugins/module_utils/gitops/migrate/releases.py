# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Step 6 of the migration: each Flux v1 HelmRelease (:data:`.flux_v1.releases.HELM_RELEASE_API_VERSION`) gives
way to its ``helm.toolkit.fluxcd.io/v2`` counterpart, and no Helm release is uninstalled.

helm-controller adopts an existing Helm 3 release when its HelmRelease names the same release in the same
namespace (:func:`identity_v2`), instead of installing it again; the flavour-2 render keeps each release's object
name, namespace and ``releaseName`` (``docs/flavours.md``). helm-operator 1.x uninstalls a release from its
informer's delete handler (``pkg/operator/operator.go``: ``DeleteFunc`` -> ``release.Uninstall``; the CRD has no
finalizer), so the v1 objects are deleted only while helm-operator runs no pod (step 2); a deletion it never sees
uninstalls nothing. A v1 HelmRelease without a v2 counterpart (a release flavour 2 does not render, such as the
fluxcloud chart) is deleted too, and its Helm release left installed and named in a warning.
"""
from __future__ import annotations

from ansible_collections.tidepool.eks.plugins.module_utils.gitops import registry


def v1_kind() -> dict:
    return registry.flavour(1).release_kind()


def v2_kind() -> dict:
    return registry.flavour(2).release_kind()


def identity_v1(hr: dict) -> tuple[str, str]:
    """``(target namespace, release name)`` helm-operator 1.x gives a HelmRelease (its ``GetReleaseName``:
    ``releaseName``, else ``<target namespace>-<name>``, prefixed with ``<namespace>-`` when the target namespace
    differs)."""
    meta, spec = hr["metadata"], hr.get("spec") or {}
    target = spec.get("targetNamespace") or meta["namespace"]
    name = spec.get("releaseName")
    if not name:
        name = f"{target}-{meta['name']}" if target == meta["namespace"] else f"{meta['namespace']}-{target}-{meta['name']}"
    return target, name


def identity_v2(hr: dict) -> tuple[str, str]:
    """``(target namespace, release name)`` helm-controller gives a HelmRelease (``releaseName``, else
    ``<targetNamespace>-<name>`` with a target namespace, else the object name)."""
    meta, spec = hr["metadata"], hr.get("spec") or {}
    target = spec.get("targetNamespace") or meta["namespace"]
    name = spec.get("releaseName") or (f"{spec['targetNamespace']}-{meta['name']}" if spec.get("targetNamespace")
                                       else meta["name"])
    return target, name


def plan(v1_objects, v2_objects) -> list:
    """One entry per v1 HelmRelease: ``{"object", "release": "<namespace>/<release>", "counterpart": "<namespace>/
    <name>" of the v2 HelmRelease or None, "action": "delete" or "wait" (a deletion under way)}``, sorted."""
    by_release = {identity_v2(o): o for o in v2_objects}
    out = []
    for hr in sorted(v1_objects, key=lambda o: (o["metadata"]["namespace"], o["metadata"]["name"])):
        ident = identity_v1(hr)
        twin = by_release.get(ident)
        out.append({"object": hr, "release": f"{ident[0]}/{ident[1]}",
                    "counterpart": (f"{twin['metadata']['namespace']}/{twin['metadata']['name']}" if twin else None),
                    "action": "wait" if hr["metadata"].get("deletionTimestamp") else "delete"})
    return out
