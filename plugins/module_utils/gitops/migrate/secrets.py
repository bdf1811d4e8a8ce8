# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Step 5 of the migration: the External Secrets Operator takes over the Secrets kubernetes-external-secrets
wrote, and no Secret is ever absent.

kubernetes-external-secrets (KES) writes one Secret per ExternalSecret of its own
(:data:`.flux_v1.external_secrets.API_VERSION`), same name and namespace, with an owner reference
(``controller: true``) to it. Deleting that ExternalSecret the ordinary way (propagation ``Background``) makes
the garbage collector delete the Secret: the gap the migration must not open. The takeover is therefore in two halves:

1. **release** (:func:`release_plan`): each KES ExternalSecret is deleted with ``propagationPolicy: Orphan``.
   The garbage collector then removes the owner reference from the Secret instead of deleting it (the
   ``orphan`` finalizer holds the ExternalSecret until it has). The Secret keeps its values.
2. **adopt** (:func:`adoption`): the ``external-secrets.io/v1`` ExternalSecret of flavour 2 (same name and
   namespace, ``creationPolicy: Owner``, rendered by the config step) takes the Secret over. ESO v0.16.2's
   controller (``pkg/controllers/externalsecret/externalsecret_controller.go``) updates an existing Secret in
   place when its policy is Owner: it sets itself as controller owner with ``SetControllerReference``, which
   *fails* while another controller owner is set (``failed to take ownership of target secret``, not requeued),
   so the release must come first; it then writes only the keys it manages and keeps the others. Because that
   failure is not requeued, and ESO watches only Secrets labelled ``reconcile.external-secrets.io/managed``,
   the step sets that label (the one ESO puts on every Secret it manages) to have ESO reconcile at once.

``creationPolicy: Merge`` was not used: a Merge ExternalSecret never creates a missing Secret and never owns one,
so the end state would differ from a cluster converged with flavour 2 from the start. Values in Secrets Manager
are only read, never written.
"""
from __future__ import annotations

from ansible_collections.tidepool.eks.plugins.module_utils.gitops import registry

#: ESO's label on the Secrets it manages (``esv1.LabelManaged``); its Secret watch reacts only to these.
MANAGED_LABEL = "reconcile.external-secrets.io/managed"
MANAGED_VALUE = "true"


def kes_kind() -> dict:
    """``{"api_version", "kind"}`` of kubernetes-external-secrets' ExternalSecret (flavour 1's secret kind)."""
    return registry.flavour(1).secret_kind()


def eso_kind() -> dict:
    """``{"api_version", "kind"}`` of the External Secrets Operator's ExternalSecret (flavour 2's secret kind)."""
    return registry.flavour(2).secret_kind()


def secret_identity(namespace: str, name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": namespace}}


def target_of(external_secret: dict) -> dict:
    """The Secret an ExternalSecret writes: ``spec.target.name`` (ESO) or the ExternalSecret's own name, in its
    namespace."""
    meta = external_secret["metadata"]
    name = ((external_secret.get("spec") or {}).get("target") or {}).get("name") or meta["name"]
    return secret_identity(meta["namespace"], name)


def _group(api_version: str) -> str:
    return api_version.rpartition("/")[0]


def owner_refs(secret: dict | None, owner: dict) -> list:
    """The owner references of ``secret`` that point at ``owner`` (same uid when both carry one, else same group,
    kind and name)."""
    uid = (owner.get("metadata") or {}).get("uid")
    out = []
    for ref in ((secret or {}).get("metadata") or {}).get("ownerReferences") or []:
        if uid and ref.get("uid"):
            if ref["uid"] == uid:
                out.append(ref)
        elif (_group(ref.get("apiVersion", "")) == _group(owner["apiVersion"]) and ref.get("kind") == owner["kind"]
              and ref.get("name") == owner["metadata"]["name"]):
            out.append(ref)
    return out


def controller_of(secret: dict | None) -> dict | None:
    """The owner reference with ``controller: true`` of ``secret``, or None."""
    for ref in ((secret or {}).get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref
    return None


def release_plan(kes_objects, secrets: dict) -> list:
    """One entry per KES ExternalSecret: ``{"external_secret", "secret" (identity), "secret_present",
    "owned" (the Secret still refers to it), "deleting" (a deletion is under way), "action"}`` with action
    ``orphan`` (delete it with propagation Orphan) or ``wait`` (deletion under way: wait for the garbage
    collector). ``secrets``: ``{(namespace, name): live Secret or None}``."""
    plan = []
    for es in sorted(kes_objects, key=lambda o: (o["metadata"]["namespace"], o["metadata"]["name"])):
        target = target_of(dict(es, spec={}))
        live = secrets.get((target["metadata"]["namespace"], target["metadata"]["name"]))
        deleting = bool(es["metadata"].get("deletionTimestamp"))
        plan.append({"external_secret": es, "secret": target, "secret_present": live is not None,
                     "owned": bool(owner_refs(live, es)), "deleting": deleting,
                     "action": "wait" if deleting else "orphan"})
    return plan


def conditions(obj: dict) -> dict:
    """``{type: condition}`` of an object's ``status.conditions``."""
    return {c.get("type"): c for c in ((obj.get("status") or {}).get("conditions") or [])}


def adoption(eso_es: dict, secret: dict | None) -> tuple[bool, str]:
    """Whether ESO's ExternalSecret ``eso_es`` has taken ``secret`` over: the Secret exists, its controller owner
    is that ExternalSecret and the ExternalSecret is Ready. Returns ``(done, what is missing or "adopted")``."""
    if secret is None:
        return False, "Secret absent"
    ctrl = controller_of(secret)
    ready = conditions(eso_es).get("Ready") or {}
    if ctrl is None or ctrl.get("kind") != eso_es["kind"] or _group(ctrl.get("apiVersion", "")) != _group(
            eso_es["apiVersion"]) or ctrl.get("name") != eso_es["metadata"]["name"]:
        who = f"{ctrl.get('kind')} {ctrl.get('apiVersion')} {ctrl.get('name')}" if ctrl else "none"
        return False, f"controller owner {who}; ExternalSecret Ready={ready.get('status', 'unknown')}" + (
            f" ({ready.get('message')})" if ready.get("message") else "")
    if ready.get("status") != "True":
        return False, f"ExternalSecret Ready={ready.get('status', 'unknown')}" + (
            f" ({ready.get('message')})" if ready.get("message") else "")
    return True, "adopted"


def needs_nudge(secret: dict | None) -> bool:
    """True when the Secret exists without ESO's :data:`MANAGED_LABEL` (ESO does not watch it yet)."""
    if secret is None:
        return False
    return ((secret.get("metadata") or {}).get("labels") or {}).get(MANAGED_LABEL) != MANAGED_VALUE


def pod_secret_names(pod: dict) -> set:
    """Names of the Secrets a Pod reads (in its namespace): ``secretKeyRef``, ``envFrom.secretRef``, ``secret`` and
    ``projected`` volumes, ``imagePullSecrets``."""
    spec = pod.get("spec") or {}
    names = set()
    for container in (spec.get("initContainers") or []) + (spec.get("containers") or []) + (
            spec.get("ephemeralContainers") or []):
        for env in container.get("env") or []:
            ref = ((env.get("valueFrom") or {}).get("secretKeyRef") or {}).get("name")
            if ref:
                names.add(ref)
        for source in container.get("envFrom") or []:
            ref = (source.get("secretRef") or {}).get("name")
            if ref:
                names.add(ref)
    for volume in spec.get("volumes") or []:
        ref = (volume.get("secret") or {}).get("secretName")
        if ref:
            names.add(ref)
        for source in (volume.get("projected") or {}).get("sources") or []:
            ref = (source.get("secret") or {}).get("name")
            if ref:
                names.add(ref)
    for ref in spec.get("imagePullSecrets") or []:
        if ref.get("name"):
            names.add(ref["name"])
    return names


def retire_plan(retired, live: dict, pods: dict, releasing: dict | None = None) -> list:
    """One entry per retired Secret id (``<namespace>/<name>``: what the contract of the chart an environment ran has
    and the new chart's has not, :func:`secrets.catalogue.retired`): ``{"secret" (identity), "action", "reason"}``,
    action ``delete`` (present, no controller owner, read by no Pod), ``keep`` (a controller owns it, or a Pod still
    reads it: deleting it would break the Pod's next start) or ``none`` (absent). ``live``: ``{id: Secret or None}``;
    ``pods``: ``{namespace: [Pod]}``; ``releasing``: an owner kind (``{"api_version", "kind"}``) that an earlier step
    removes first (check mode plans the whole migration: kubernetes-external-secrets' ExternalSecret)."""
    plan = []
    for sid in sorted(set(retired or ())):
        namespace, name = sid.split("/", 1)
        secret = live.get(sid)
        entry = {"secret": secret_identity(namespace, name), "action": "none", "reason": "absent"}
        if secret is not None:
            owner = controller_of(secret)
            if owner and releasing and owner.get("kind") == releasing["kind"] and _group(
                    owner.get("apiVersion", "")) == _group(releasing["api_version"]):
                owner = None
            readers = sorted(p["metadata"]["name"] for p in pods.get(namespace) or []
                             if name in pod_secret_names(p))
            if owner:
                entry.update(action="keep", reason=f"controlled by {owner.get('kind')} {owner.get('name')}")
            elif readers:
                entry.update(action="keep", reason="read by Pod " + ", ".join(readers[:3])
                             + (f" and {len(readers) - 3} more" if len(readers) > 3 else ""))
            else:
                entry.update(action="delete", reason="no chart reads it")
        plan.append(entry)
    return plan
