# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""The cluster-side steps of the Flux v1 -> v2 migration, the core of ``tidepool.eks.flux_migrate``.

Each step reads the cluster, plans, checks its preconditions before any write, then (unless in check mode) acts and
waits until the cluster shows the result. A step whose work is done plans nothing and writes nothing, so every step
can be run again, and a migration stopped anywhere completes when run again. Steps (``docs/howto/
migrate-flux-v2.md``; the render, push and Flux v2 install of steps 3 and 4 are the config and flux roles'):

* ``preflight`` (1): :mod:`.state`, :mod:`.tiller`;
* ``stop`` (2) and ``resume`` (its way back): :mod:`.workloads`;
* ``release_secrets`` and ``adopt_secrets`` (5): :mod:`.secrets`;
* ``releases`` (6): :mod:`.releases`;
* ``remove`` (7): :mod:`.removal`.

Every function takes ``kube`` (:class:`.kube.Kube` or a stand-in), ``params`` (the module options: ``cluster``,
``namespace``, ``helm2_converted``, ``keep_namespace``, ``remove_crds``, ``expect_secrets``, ``wait_timeout`` in
seconds) and
``check_mode``; it returns the module result: ``changed``, ``step``, ``diff`` (entries, Secret values hidden),
``warnings`` and what the step found. Errors: :class:`.errors.MigrationError`, :class:`k8s.client.KubeError`
(a timeout names what was awaited and its last state).
"""
from __future__ import annotations

from ansible_collections.tidepool.eks.plugins.module_utils.gitops.migrate import releases, secrets, state, tiller, workloads
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.migrate import removal
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.migrate.errors import MigrationError
from ansible_collections.tidepool.eks.plugins.module_utils.k8s import apply as k8s_apply
from ansible_collections.tidepool.eks.plugins.module_utils.k8s.objects import ref as describe

STEPS = ("preflight", "stop", "resume", "release_secrets", "adopt_secrets", "releases", "remove")


def _text_diff(header: str, before: str, after: str) -> dict:
    return {"before_header": header, "after_header": header, "before": before + "\n", "after": after + "\n"}


def _name(obj: dict) -> str:
    return f"{obj['metadata']['namespace']}/{obj['metadata']['name']}"


def preflight(kube, params: dict, check_mode: bool = False, **_kw) -> dict:
    """Step 1: read only. Returns ``phase``, ``flux_v1`` ({Deployment: replicas wanted, None when gone}),
    ``tiller`` (:func:`.tiller.check`), ``counts`` of the objects of flavour 1 and 2, ``deploy_key_v1``.
    Raises :class:`MigrationError` when the cluster runs neither flavour or Tiller holds unconverted releases."""
    found = state.inspect(kube, params["namespace"])
    phase = state.phase(found)
    records = tiller.check(found["tiller_records"], found["helm3_records"], params["namespace"],
                           converted=params.get("helm2_converted", False))
    warnings = []
    if records["converted_by_operator"]:
        warnings.append("migrate_helm2_converted is set: Tiller's records of " + ", ".join(records["unconverted"])
                        + " have no Helm 3 record in this cluster; helm-controller installs any release it does not "
                          "find.")
    return {"changed": False, "step": "preflight", "phase": phase, "warnings": warnings,
            "flux_v1": {n: workloads.replicas(d)[0] for n, d in found["deployments"].items()},
            "tiller": records,
            "counts": {"helmreleases_v1": len(found["helmreleases_v1"]),
                       "helmreleases_v2": len(found["helmreleases_v2"]),
                       "external_secrets_kes": len(found["external_secrets_kes"]),
                       "external_secrets_eso": len(found["external_secrets_eso"])},
            "deploy_key_v1": found["deploy_key_v1"],
            "kes_secrets": sorted(_name(secrets.target_of(dict(es, spec={}))) for es in found["external_secrets_kes"])}


def _stopped_check(kube, dep):
    """A :func:`k8s.apply.wait_for` check: the Deployment ``dep`` runs no pod."""
    def stopped():
        cur = kube.get(dep)
        return workloads.is_stopped(cur), f"{workloads.replicas(cur)[1]} pod(s) running"
    return stopped


def scale(kube, params: dict, check_mode: bool, count: int, step: str, sleep=None) -> dict:
    """Steps ``stop`` (count 0) and ``resume`` (count 1): scale Flux v1 and helm-operator; ``stop`` waits until
    their pods are gone (helm-operator must see no HelmRelease deletion)."""
    ns = params["namespace"]
    live = {name: kube.get(workloads.deployment(ns, name)) for name, _what in workloads.STOPPED}
    plan = workloads.scale_plan(live, count)
    diff = []
    for entry in plan:
        if entry["action"] != "scale":
            continue
        diff.append(_text_diff(f"Deployment {ns}/{entry['name']} ({entry['what']})", f"replicas: {entry['from']}",
                               f"replicas: {count}"))
        if not check_mode:
            kube.merge_patch(workloads.deployment(ns, entry["name"]), {"spec": {"replicas": count}})
    if not check_mode and count == 0:
        kwargs = {"sleep": sleep} if sleep else {}
        for entry in plan:
            dep = workloads.deployment(ns, entry["name"])

            k8s_apply.wait_for(_stopped_check(kube, dep), params["wait_timeout"],
                               f"Deployment {ns}/{entry['name']} ({entry['what']}) to run no pod", **kwargs)
    return {"changed": bool(diff), "step": step, "diff": diff,
            "workloads": [{k: e[k] for k in ("name", "from", "to", "action")} for e in plan]}


def release_secrets(kube, params: dict, check_mode: bool, sleep=None, **_kw) -> dict:
    """Step 5, first half: delete every kubernetes-external-secrets ExternalSecret with propagation Orphan, then wait
    until the garbage collector has removed its owner reference from the Secret (which stays, values unchanged)."""
    kes = kube.list(secrets.kes_kind()["api_version"], secrets.kes_kind()["kind"])
    live = {}
    for es in kes:
        target = secrets.target_of(dict(es, spec={}))
        live[(target["metadata"]["namespace"], target["metadata"]["name"])] = kube.get(target)
    plan = secrets.release_plan(kes, live)
    diff, warnings = [], []
    for entry in plan:
        es, target = entry["external_secret"], entry["secret"]
        if not entry["secret_present"]:
            warnings.append(f"Secret {_name(target)} does not exist (kubernetes-external-secrets never wrote it); the "
                            "ExternalSecret of flavour 2 creates it.")
        diff.append(k8s_apply.diff_entry(es, None))
        if entry["owned"]:
            diff.append(_text_diff(f"Secret {_name(target)} (kept, values unchanged)",
                                   f"ownerReferences: [{es['kind']} {es['apiVersion']} {es['metadata']['name']}]",
                                   "ownerReferences: [] (orphaned by the deletion, propagationPolicy: Orphan)"))
        if not check_mode and entry["action"] == "orphan":
            kube.delete_with(es, "Orphan")
    if not check_mode:
        kwargs = {"sleep": sleep} if sleep else {}
        for entry in plan:
            es, target = entry["external_secret"], entry["secret"]

            def released(es=es, target=target):
                gone = kube.get(es) is None
                refs = secrets.owner_refs(kube.get(target), es)
                return gone and not refs, ("ExternalSecret deleted" if gone else "ExternalSecret still present") + (
                    ", Secret still refers to it" if refs else "")
            k8s_apply.wait_for(released, params["wait_timeout"],
                               f"{describe(es)} to be deleted and Secret {_name(target)} orphaned (the garbage "
                               "collector of kube-controller-manager does it)", **kwargs)
    return {"changed": bool(plan), "step": "release_secrets", "diff": diff, "warnings": warnings,
            "external_secrets": [{"external_secret": _name(e["external_secret"]), "secret": _name(e["secret"]),
                                  "secret_present": e["secret_present"], "action": e["action"]} for e in plan]}


def adopt_secrets(kube, params: dict, check_mode: bool, sleep=None, **_kw) -> dict:
    """Step 5, second half: wait until every External Secrets Operator ExternalSecret is Ready and controls its
    Secret, and every Secret of ``params["expect_secrets"]`` (``namespace/name``: what kubernetes-external-secrets
    wrote, from the preflight) has one. A Secret ESO does not watch yet gets ESO's managed label, so that ESO
    reconciles it at once."""
    kind = secrets.eso_kind()
    leftovers = kube.list(secrets.kes_kind()["api_version"], secrets.kes_kind()["kind"])
    if leftovers and not check_mode:
        raise MigrationError("kubernetes-external-secrets ExternalSecrets are still present ("
                             + ", ".join(_name(o) for o in leftovers[:10]) + "): run the release_secrets step first "
                             "(ESO cannot own a Secret another controller owns). Nothing was changed.")
    expected = set(params.get("expect_secrets") or [])
    diff, nudged, pending = [], set(), {}

    def survey(write: bool):
        """Nudge what needs it; return {secret name: what is missing} of the Secrets not taken over yet."""
        missing, covered = {}, set()
        for es in sorted(kube.list(kind["api_version"], kind["kind"]), key=_name):
            target = secrets.target_of(es)
            name = _name(target)
            covered.add(name)
            live = kube.get(target)
            done, status = secrets.adoption(es, live)
            if done:
                continue
            missing[name] = f"ExternalSecret {_name(es)}: {status}"
            if name in nudged:
                continue
            nudged.add(name)
            if secrets.needs_nudge(live):
                diff.append(_text_diff(f"Secret {name}", f"labels: (no {secrets.MANAGED_LABEL})",
                                       f"labels: {{{secrets.MANAGED_LABEL}: \"{secrets.MANAGED_VALUE}\"}} "
                                       f"(then owned by ExternalSecret {_name(es)})"))
                if write:
                    kube.merge_patch(target, {"metadata": {"labels": {secrets.MANAGED_LABEL: secrets.MANAGED_VALUE}}})
            elif live is None:
                diff.append(_text_diff(f"Secret {name}", "(absent)", f"created by ExternalSecret {_name(es)}"))
        for name in sorted(expected - covered):
            missing[name] = "no external-secrets.io ExternalSecret writes it yet (has Flux v2 applied the tree?)"
        return missing

    first = survey(not check_mode)
    pending.update(first)
    if not check_mode and first:
        kwargs = {"sleep": sleep} if sleep else {}

        def adopted():
            missing = survey(True)
            pending.update(missing)
            text = "; ".join(f"{k}: {v}" for k, v in list(missing.items())[:5])
            return not missing, text + (f" (and {len(missing) - 5} more)" if len(missing) > 5 else "")
        k8s_apply.wait_for(adopted, params["wait_timeout"],
                           f"the External Secrets Operator to take over {len(first)} Secret(s)", **kwargs)
    return {"changed": bool(first), "step": "adopt_secrets", "diff": diff,
            "secrets": sorted(pending)}


def replace_releases(kube, params: dict, check_mode: bool, **_kw) -> dict:
    """Step 6: delete every Flux v1 HelmRelease once helm-operator runs no pod; refuses while it does.
    A v1 HelmRelease without a v2 counterpart is named in a warning (its Helm release stays installed)."""
    ns = params["namespace"]
    operator = kube.get(workloads.deployment(ns, workloads.HELM_OPERATOR))
    kind1, kind2 = releases.v1_kind(), releases.v2_kind()
    plan = releases.plan(kube.list(kind1["api_version"], kind1["kind"]), kube.list(kind2["api_version"], kind2["kind"]))
    diff, warnings = [], []
    if plan and not workloads.is_stopped(operator):
        want, running = workloads.replicas(operator)
        msg = (f"helm-operator (Deployment {ns}/{workloads.HELM_OPERATOR}) wants {want} replica(s) and runs {running}: "
               f"deleting a {kind1['api_version']} HelmRelease now would uninstall its release. Run the stop step first.")
        if not check_mode:
            raise MigrationError(msg + " Nothing was changed.")
        warnings.append("Check mode: " + msg)
    for entry in plan:
        hr = entry["object"]
        diff.append(k8s_apply.diff_entry(hr, None))
        if entry["counterpart"] is None:
            target, name = entry["release"].split("/", 1)
            warnings.append(f"HelmRelease {_name(hr)} ({kind1['api_version']}, release {entry['release']}) has no "
                            f"{kind2['api_version']} counterpart: its Helm release stays installed; remove it with "
                            f"`helm uninstall {name} -n {target}` if it is no longer wanted.")
        if not check_mode and entry["action"] == "delete":
            kube.delete_with(hr, "Background")
    return {"changed": bool(plan), "step": "releases", "diff": diff, "warnings": warnings,
            "helmreleases": [{k: (e[k] if k != "object" else _name(e[k])) for k in ("object", "release", "counterpart",
                                                                                    "action")} for e in plan]}


def run(step: str, kube, params: dict, check_mode: bool, sleep=None) -> dict:
    """Run one step (one of :data:`STEPS`)."""
    if step == "preflight":
        return preflight(kube, params, check_mode)
    if step in ("stop", "resume"):
        return scale(kube, params, check_mode, 0 if step == "stop" else 1, step, sleep=sleep)
    if step == "release_secrets":
        return release_secrets(kube, params, check_mode, sleep=sleep)
    if step == "adopt_secrets":
        return adopt_secrets(kube, params, check_mode, sleep=sleep)
    if step == "releases":
        return replace_releases(kube, params, check_mode)
    if step == "remove":
        return removal.remove(kube, params, check_mode)
    raise MigrationError(f"step={step!r}: use one of {', '.join(STEPS)}.")
