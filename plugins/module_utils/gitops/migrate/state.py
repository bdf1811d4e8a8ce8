# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""What the migration finds in the cluster (read only): the Flux v1 workloads, Tiller's release records, the
objects of flavour 1 still present, Flux v2's namespace, and the public half of the Flux v1 deploy key (so that
the playbook can remove it from GitHub at the end). :func:`phase` tells a cluster running flavour 1, one half way
through the migration, and one that runs neither flavour.
"""
from __future__ import annotations

import base64

from ansible_collections.tidepool.eks.plugins.module_utils.crypto import ssh_keys
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v1 import bootstrap as flux_v1
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v2 import components as flux_v2_components
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.migrate import releases, secrets, tiller, workloads
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.migrate.errors import MigrationError


def _kind_list(kube, kind: dict, **kw) -> list:
    return kube.list(kind["api_version"], kind["kind"], **kw)


def deploy_key_secret(namespace: str) -> dict:
    return secrets.secret_identity(namespace, flux_v1.DEPLOY_KEY_SECRET)


def v1_deploy_key(live_secret: dict | None) -> dict | None:
    """``{"public_key", "fingerprint"}`` of the Flux v1 deploy key Secret (None when it is gone or unreadable);
    the private key is never returned."""
    stored = ((live_secret or {}).get("data") or {}).get(flux_v1.DEPLOY_KEY_DATA_KEY)
    if not stored:
        return None
    try:
        public = ssh_keys.public_line(ssh_keys.load_private(base64.b64decode(stored)))
    except (ValueError, ssh_keys.SSHKeyError):
        return None
    return {"public_key": public, "fingerprint": ssh_keys.fingerprint(public)}


def inspect(kube, namespace: str) -> dict:
    """Read the cluster. ``namespace``: Flux v1's (and Tiller's) namespace. Returns ``deployments`` ({name: live or
    None}), ``helmreleases_v1``, ``helmreleases_v2``, ``external_secrets_kes``, ``external_secrets_eso`` (live
    objects), ``tiller_records``, ``helm3_records``, ``flux_v2`` (Flux v2's namespace exists) and ``deploy_key_v1``."""
    return {
        "deployments": {name: kube.get(workloads.deployment(namespace, name)) for name, _what in workloads.STOPPED},
        "helmreleases_v1": _kind_list(kube, releases.v1_kind()),
        "helmreleases_v2": _kind_list(kube, releases.v2_kind()),
        "external_secrets_kes": _kind_list(kube, secrets.kes_kind()),
        "external_secrets_eso": _kind_list(kube, secrets.eso_kind()),
        "tiller_records": (kube.list("v1", "ConfigMap", namespace=namespace, label_selector=tiller.TILLER_SELECTOR)
                           + kube.list("v1", "Secret", namespace=namespace, label_selector=tiller.TILLER_SELECTOR)),
        "helm3_records": kube.list("v1", "Secret", label_selector=tiller.HELM3_SELECTOR),
        "flux_v2": kube.get({"apiVersion": "v1", "kind": "Namespace",
                             "metadata": {"name": flux_v2_components.NAMESPACE}}) is not None,
        "deploy_key_v1": v1_deploy_key(kube.get(deploy_key_secret(namespace))),
    }


def phase(found: dict) -> str:
    """``flavour1`` (Flux v1 installed), ``migrating`` (Flux v1's workloads gone, objects of flavour 1 left, or
    Flux v2 installed beside nothing of flavour 1: ``done``). Raises :class:`MigrationError` when the cluster runs
    neither flavour."""
    if any(v is not None for v in found["deployments"].values()):
        return "flavour1"
    if found["helmreleases_v1"] or found["external_secrets_kes"]:
        return "migrating"
    if found["flux_v2"]:
        return "done"
    raise MigrationError("Neither Flux v1 (Deployments " + ", ".join(n for n, _what in workloads.STOPPED)
                         + ") nor Flux v2 (namespace " + flux_v2_components.NAMESPACE + ") was found: this cluster "
                         "runs neither flavour; check the kubeconfig context and migrate_flux_namespace. Nothing "
                         "was changed.")
