# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Whether the platform Flux applied is running: every HelmRelease Ready at its current spec, every Deployment and
StatefulSet its releases installed Available. The last phase of :class:`.wait.Waiter` (``releases``).

* A HelmRelease (``helm.toolkit.fluxcd.io/v2``) is **ready** when helm-controller reconciled its current spec
  (``status.observedGeneration`` equals ``metadata.generation``) and its ``Ready`` condition is True; the
  Kustomization applied the commit before this phase, so a spec that changed with the commit has a new generation.
  A suspended one is left out (nothing reconciles it).
* It has **failed** when at its current spec it is ``Stalled`` (helm-controller gave up: ``RetriesExceeded``,
  a missing dependency it cannot wait for), or ``Ready`` False with one of helm-controller's failure reasons
  (:data:`FAILURE_REASONS`, ``api/v2/condition_types.go``): the install or upgrade failed, the chart could not be
  fetched. ``DependencyNotReady`` and progress reasons are pending. The text of a failed one is that message, followed
  by Helm's own error in parentheses when the ``Released`` condition is False and says more (a ``Stalled``
  "Failed to install after 1 attempt(s)" names no cause; ``Released`` has "Helm install failed ...: <error>").
* It has also **failed** when, not Ready at its current spec, its chart source (``spec.chart.spec.sourceRef``) is in
  another namespace: helm-controller runs with ``--no-cross-namespace-refs=true`` (:mod:`.lockdown`) and refuses to
  make its HelmChart there. helm-controller v1.6.3 says so in its log only (the refusal comes before any condition
  is set, the release keeps no status), so without this rule the wait would time out naming no reason.
* The workloads of a release are the Deployments and StatefulSets whose Helm ownership annotations
  (``meta.helm.sh/release-name`` and ``-namespace``, which Helm 3 and 4 write on every object they apply) name its
  release (``spec.releaseName`` or ``<targetNamespace or namespace>-<name>``, in ``spec.storageNamespace`` or the
  object's namespace). One is **available** as ``kubectl rollout status`` has it: the controller observed its
  generation, every replica is updated and available (Deployment) or ready (StatefulSet).

Every function is pure; the waiter gives them what the cluster lists.
"""
from __future__ import annotations

HELM_RELEASE = ("helm.toolkit.fluxcd.io/v2", "HelmRelease")
WORKLOAD_KINDS = (("apps/v1", "Deployment"), ("apps/v1", "StatefulSet"))
RELEASE_NAME = "meta.helm.sh/release-name"
RELEASE_NAMESPACE = "meta.helm.sh/release-namespace"
#: Ready reasons of helm-controller v1.x that mean the release failed (not that it is on its way).
FAILURE_REASONS = frozenset({"InstallFailed", "UpgradeFailed", "TestFailed", "RollbackFailed", "UninstallFailed",
                             "ArtifactFailed", "InitFailed", "GetLastReleaseFailed", "RetriesExceeded"})


def condition(obj: dict, kind: str) -> dict:
    for cond in ((obj or {}).get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind:
            return cond
    return {}


def _label(obj: dict) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta.get('namespace')}/{meta.get('name')}"


def release_identity(helm_release: dict) -> tuple[str, str]:
    """``(storage namespace, Helm release name)`` of a HelmRelease, as helm-controller names it."""
    meta, spec = helm_release.get("metadata") or {}, helm_release.get("spec") or {}
    target = spec.get("targetNamespace") or meta.get("namespace")
    name = spec.get("releaseName") or (f"{target}-{meta.get('name')}" if spec.get("targetNamespace") else meta.get("name"))
    return spec.get("storageNamespace") or target, name


def cross_namespace_source(helm_release: dict) -> str | None:
    """Why helm-controller's lockdown refuses the release's chart source, or None (same namespace, or ``chartRef``,
    whose refusal helm-controller reports in the release's conditions)."""
    meta = helm_release.get("metadata") or {}
    ref = (((helm_release.get("spec") or {}).get("chart") or {}).get("spec") or {}).get("sourceRef") or {}
    if not ref.get("namespace") or ref["namespace"] == meta.get("namespace"):
        return None
    return (f"its chart source {ref.get('kind')} {ref['namespace']}/{ref.get('name')} is in another namespace: "
            "helm-controller runs with --no-cross-namespace-refs=true and refuses it (cross-namespace references "
            f"are not allowed: cannot access HelmChart {ref['namespace']}/{meta.get('namespace')}-{meta.get('name')})")


def release_state(helm_release: dict) -> tuple[str, str]:
    """``(state, text)`` of one HelmRelease: ``ready``, ``failed`` (text: helm-controller's message, or why the
    lockdown refuses its source) or ``pending``."""
    meta, status = helm_release.get("metadata") or {}, helm_release.get("status") or {}
    current = status.get("observedGeneration") == meta.get("generation")
    ready, stalled = condition(helm_release, "Ready"), condition(helm_release, "Stalled")
    message = (ready.get("message") or stalled.get("message") or "no status yet").strip()
    if current and ready.get("status") == "True":
        return "ready", message
    refused = cross_namespace_source(helm_release)
    if refused:
        return "failed", refused
    if current and (stalled.get("status") == "True" or (
            ready.get("status") == "False" and ready.get("reason") in FAILURE_REASONS)):
        text = (stalled.get("message") if stalled.get("status") == "True" else ready.get("message")
                or "").strip() or message
        released = condition(helm_release, "Released")
        helm_says = (released.get("message") or "").strip() if released.get("status") == "False" else ""
        return "failed", f"{text} ({helm_says})" if helm_says and helm_says not in text else text
    return "pending", message


def releases_state(helm_releases: list) -> dict:
    """Over every HelmRelease not suspended: ``{"ready": [labels], "failed": ["<ns>/<name>: message"], "pending":
    ["<ns>/<name> (message)"], "total": n}``, each sorted."""
    out = {"ready": [], "failed": [], "pending": [], "total": 0}
    for hr in sorted(helm_releases, key=_label):
        if (hr.get("spec") or {}).get("suspend"):
            continue
        out["total"] += 1
        state, text = release_state(hr)
        label = _label(hr)
        if state == "ready":
            out["ready"].append(label)
        elif state == "failed":
            out["failed"].append(f"HelmRelease {label}: {text}")
        else:
            out["pending"].append(f"HelmRelease {label} ({text})")
    return out


def workload_available(workload: dict) -> tuple[bool, str]:
    """``(available, what is missing)`` of a Deployment or StatefulSet, as ``kubectl rollout status`` judges it."""
    meta, spec, status = workload.get("metadata") or {}, workload.get("spec") or {}, workload.get("status") or {}
    want = spec.get("replicas", 1)
    if (status.get("observedGeneration") or 0) < (meta.get("generation") or 0):
        return False, "its controller has not observed the new spec"
    updated = status.get("updatedReplicas") or 0
    ok = status.get("availableReplicas" if workload.get("kind") == "Deployment" else "readyReplicas") or 0
    if updated < want or ok < want:
        return False, f"{ok} of {want} replicas {'available' if workload.get('kind') == 'Deployment' else 'ready'}"
    return True, "available"


def release_workloads(helm_releases: list, workloads: list) -> list:
    """The Deployments and StatefulSets (``workloads``) a HelmRelease of ``helm_releases`` installed."""
    names = {release_identity(hr) for hr in helm_releases if not (hr.get("spec") or {}).get("suspend")}
    out = []
    for w in workloads:
        ann = (w.get("metadata") or {}).get("annotations") or {}
        if (ann.get(RELEASE_NAMESPACE), ann.get(RELEASE_NAME)) in names:
            out.append(w)
    return out


def workloads_state(workloads: list) -> dict:
    """``{"available": n, "unavailable": ["<Kind> <ns>/<name> (what is missing)"], "total": n}``."""
    out = {"available": 0, "unavailable": [], "total": len(workloads)}
    for w in sorted(workloads, key=lambda o: (o.get("kind"), _label(o))):
        ok, text = workload_available(w)
        if ok:
            out["available"] += 1
        else:
            out["unavailable"].append(f"{w.get('kind')} {_label(w)} ({text})")
    return out


def summary(releases: dict, workloads: dict) -> str:
    """``N of N HelmReleases Ready, M of M Deployments / StatefulSets Available``."""
    return (f"{len(releases['ready'])} of {releases['total']} HelmReleases Ready, {workloads['available']} of "
            f"{workloads['total']} Deployments / StatefulSets Available")
