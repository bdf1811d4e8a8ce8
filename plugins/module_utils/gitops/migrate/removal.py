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
    ns = params["namespace"]
    spec = bootstrap.normalize_params({"cluster": params["cluster"], "flux_version": 1, "state": "absent",
                                       "namespace": ns, "keep_deploy_key": bool(params.get("keep_namespace")),
                                       "remove_crds": False, "wait": False})
    result = bootstrap.run(spec, kube, check_mode)
    objects, diff = list(result["objects"]), list(result["diff"])
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
    warnings = [f"Check mode: {len(remaining)} object(s) of flavour 1 are removed by the earlier steps first."] if remaining else []
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
