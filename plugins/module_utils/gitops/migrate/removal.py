# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Step 7 of the migration: Flux v1, helm-operator, Tiller and kubernetes-external-secrets leave the cluster.

* The Flux v1 install (fluxd, memcached, helm-operator, Tiller, their RBAC and Secrets, the deploy key Secret) is
  removed by the same core as ``flux_bootstrap state=absent flux_version=1`` (:func:`gitops.bootstrap.run`), in
  reverse install order. Its namespace stays when flavour 2 renders objects into it (``keep_namespace``: the
  fluxcloud Provider and Alert live in ``flux``); the deploy key Secret goes either way.
* The CustomResourceDefinitions of flavour 1 (helm-operator's HelmRelease,
  :data:`.flux_v1.helm_operator_crd.NAME`, and kubernetes-external-secrets' ExternalSecret) go when ``remove_crds``
  and no object of theirs is left: deleting a CRD deletes its objects, which steps 5 and 6 already removed the safe way.
* kubernetes-external-secrets' IRSA service account (``external-secrets/external-secrets``, label ``aws-usage:
  secrets-management``, :mod:`config.irsa`; flavour 2 has none) is deleted when the collection's cluster step created it
  (``cluster_provider: existing``); one eksctl created (EKS) is named in a warning with the ``eksctl delete
  iamserviceaccount`` command that also removes its IAM role.
* The Secrets the chart of flavour 1 read and the chart of flavour 2 does not (``retired_secrets``,
  :func:`secrets.catalogue.retired`; chart 0.1.7 to 0.26.0: ``carelink``, ``image``, ``mailchimp``, ``notification``,
  ``user``): step 5 released them and no ExternalSecret of flavour 2 writes them, so nothing would ever delete them.
  Each one goes unless a controller owns it or a Pod still reads it (:func:`.secrets.retire_plan`: then it stays, named
  in a warning). Their values stay in AWS Secrets Manager.
* kubernetes-external-secrets itself is a Helm release of the ``external-secrets`` package: its flavour-2 HelmRelease
  names the same release, so helm-controller upgrades it to the External Secrets Operator chart; nothing is left
  to delete here.

Preconditions (checked before any write; in check mode a warning, since the earlier steps only planned): no
Flux v1 HelmRelease and no kubernetes-external-secrets ExternalSecret left (steps 5 and 6 done).
"""
from __future__ import annotations

from ansible_collections.tidepool.eks.plugins.module_utils.gitops import bootstrap
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v1 import external_secrets as kes, helm_operator_crd
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.migrate import releases, secrets, state, tiller
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.migrate.errors import MigrationError
from ansible_collections.tidepool.eks.plugins.module_utils.k8s import apply as k8s_apply

#: The CustomResourceDefinitions of flavour 1, with the kind each one serves.
FLAVOUR1_CRDS = ((helm_operator_crd.NAME, releases.v1_kind),
                 (f"externalsecrets.{kes.API_VERSION.split('/', maxsplit=1)[0]}", secrets.kes_kind))


#: kubernetes-external-secrets' IRSA service account (namespace, name) and the label config.irsa gives it.
KES_ACCOUNT = ("external-secrets", "external-secrets")
KES_ACCOUNT_LABEL = ("aws-usage", "secrets-management")
MANAGED_BY = "app.kubernetes.io/managed-by"


def crd_identity(name: str) -> dict:
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": name}}


def _retire_secrets(kube, retired, check_mode, objects, diff, warnings):
    """Delete the retired Secrets no controller owns and no Pod reads (:func:`.secrets.retire_plan`)."""
    if not retired:
        return
    live = {sid: kube.get(secrets.secret_identity(*sid.split("/", 1))) for sid in retired}
    namespaces = sorted({sid.split("/", 1)[0] for sid, obj in live.items() if obj is not None})
    pods = {ns: kube.list("v1", "Pod", namespace=ns) for ns in namespaces}
    for entry in secrets.retire_plan(retired, live, pods, releasing=secrets.kes_kind() if check_mode else None):
        meta = entry["secret"]["metadata"]
        objects.append({"kind": "Secret", "name": meta["name"], "namespace": meta["namespace"],
                        "action": entry["action"] if entry["action"] != "keep" else "none"})
        if entry["action"] == "keep":
            warnings.append(f"Secret {meta['namespace']}/{meta['name']} is no longer in the chart's secrets contract but "
                            f"is kept: {entry['reason']}. Delete it once nothing reads it (its values stay in AWS "
                            "Secrets Manager).")
        elif entry["action"] == "delete":
            diff.append(k8s_apply.diff_entry(live[f"{meta['namespace']}/{meta['name']}"], None))
            if not check_mode:
                kube.delete(entry["secret"])


def remove(kube, params: dict, check_mode: bool, **_kw) -> dict:
    """Remove what flavour 1 installed (see the module docstring). Returns ``changed``, ``step``, ``objects``
    (``[{kind, name, namespace, action}]``), ``diff``, ``warnings`` and ``tiller_records`` (how many Tiller records
    stay, in a kept namespace)."""
    left = {}
    for _crd, kind in FLAVOUR1_CRDS:
        k = kind()
        left[k["kind"] + " " + k["api_version"]] = kube.list(k["api_version"], k["kind"])
    remaining = [f"{what} {o['metadata']['namespace']}/{o['metadata']['name']}" for what, objs in left.items() for o in objs]
    if remaining and not check_mode:
        raise MigrationError("Objects of flavour 1 are still present (" + ", ".join(remaining[:10])
                             + (f" and {len(remaining) - 10} more" if len(remaining) > 10 else "")
                             + "): run the release_secrets and releases steps first; removing their definitions now "
                               "would delete their Secrets or uninstall their releases. Nothing was changed.")
    objects, diff, warnings = [], [], []
    _retire_secrets(kube, params.get("retired_secrets") or [], check_mode, objects, diff, warnings)
    ns = params["namespace"]
    spec = bootstrap.normalize_params({"cluster": params["cluster"], "flux_version": 1, "state": "absent",
                                       "namespace": ns, "keep_deploy_key": bool(params.get("keep_namespace")),
                                       "remove_crds": False, "wait": False})
    result = bootstrap.run(spec, kube, check_mode)
    objects += result["objects"]
    diff += result["diff"]
    extra = []
    if params.get("keep_namespace"):
        extra.append(state.deploy_key_secret(ns))  # keep_deploy_key kept the namespace and this Secret
    if params.get("remove_crds", True):
        extra += [crd_identity(name) for name, _kind in FLAVOUR1_CRDS]
    for obj in extra:
        live = kube.get(obj)
        entry = {"kind": obj["kind"], "name": obj["metadata"]["name"], "action": "delete" if live else "none"}
        if obj["metadata"].get("namespace"):
            entry["namespace"] = obj["metadata"]["namespace"]
        objects.append(entry)
        if live:
            diff.append(k8s_apply.diff_entry(live, None))
            if not check_mode:
                kube.delete(obj)
    if remaining:
        warnings.append(f"Check mode: {len(remaining)} object(s) of flavour 1 are removed by the earlier steps first.")
    account = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": KES_ACCOUNT[1],
                                                                          "namespace": KES_ACCOUNT[0]}}
    live = kube.get(account)
    labels = ((live or {}).get("metadata") or {}).get("labels") or {}
    if live and labels.get(KES_ACCOUNT_LABEL[0]) == KES_ACCOUNT_LABEL[1]:
        if labels.get(MANAGED_BY) == "tidepool.eks":
            objects.append({"kind": "ServiceAccount", "name": KES_ACCOUNT[1], "namespace": KES_ACCOUNT[0],
                            "action": "delete"})
            diff.append(k8s_apply.diff_entry(live, None))
            if not check_mode:
                kube.delete(account)
        else:
            warnings.append(f"ServiceAccount {KES_ACCOUNT[0]}/{KES_ACCOUNT[1]} (kubernetes-external-secrets' IRSA role, "
                            f"managed by {labels.get(MANAGED_BY, 'another tool')}) is left; with eksctl: `eksctl delete "
                            f"iamserviceaccount --cluster {params['cluster']} --namespace {KES_ACCOUNT[0]} --name "
                            f"{KES_ACCOUNT[1]}` removes it and its IAM role.")
    records = 0
    if params.get("keep_namespace"):
        records = len(kube.list("v1", "ConfigMap", namespace=ns, label_selector=tiller.TILLER_SELECTOR))
        if records:
            warnings.append(f"{records} Helm 2 release record(s) of Tiller stay in namespace {ns} (kept for flavour 2's "
                            f"objects); remove them with `helm 2to3 cleanup --tiller-ns {ns}` once nothing needs them.")
    return {"changed": any(o["action"] != "none" for o in objects), "step": "remove", "objects": objects,
            "diff": diff, "warnings": warnings, "tiller_records": records}
