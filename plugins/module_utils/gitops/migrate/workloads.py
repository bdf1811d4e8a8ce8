# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Step 2 of the migration (and its way back): Flux v1 stops syncing and helm-operator stops reconciling.

The Deployments ``flux`` (fluxd) and ``flux-helm-operator`` of the Flux v1 install are scaled to zero replicas
with a JSON merge patch; every object of the install stays until step 7, so a migration stopped here is undone by
scaling them back (``migrate_resume: true``, or ``flux.yml`` with ``flux_version: 1``). With helm-operator at zero
no Flux v1 HelmRelease deletion uninstalls its release: helm-operator 1.x uninstalls from its
informer's delete handler (no finalizer), so a deletion it does not see does nothing.
"""
from __future__ import annotations

from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v1 import bootstrap as flux_v1

#: The Deployments stopped, in order: (name, what it is). memcached and Tiller are idle without them.
STOPPED = tuple((name, what) for name, what in flux_v1.WORKLOADS if name in ("flux", "flux-helm-operator"))
HELM_OPERATOR = "flux-helm-operator"


def deployment(namespace: str, name: str) -> dict:
    """The identity of a Deployment (to read, patch or delete it)."""
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": namespace}}


def replicas(live: dict | None) -> tuple[int | None, int]:
    """``(spec.replicas, status.replicas)`` of a live Deployment (``(None, 0)`` when it does not exist; a
    Deployment without ``spec.replicas`` wants 1)."""
    if live is None:
        return None, 0
    spec = (live.get("spec") or {}).get("replicas")
    return (1 if spec is None else int(spec)), int((live.get("status") or {}).get("replicas") or 0)


def is_stopped(live: dict | None) -> bool:
    """True when the Deployment is gone, or wants zero replicas and runs no pod."""
    want, running = replicas(live)
    return want is None or (want == 0 and running == 0)


def scale_plan(live: dict, count: int) -> list:
    """``[{"name", "what", "from", "to", "action"}]`` for scaling each of :data:`STOPPED` to ``count``; ``live``:
    ``{name: live Deployment or None}``. ``action`` is ``scale``, ``none`` (already there) or ``absent`` (the
    Deployment is gone: step 7 already removed it)."""
    plan = []
    for name, what in STOPPED:
        want, _running = replicas(live.get(name))
        action = "absent" if want is None else ("none" if want == count else "scale")
        plan.append({"name": name, "what": what, "from": want, "to": count, "action": action})
    return plan
