# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""The chart catalogue of Flux v1 (the install guide's stack): the shared charts and repositories
(:data:`config.catalogue.SHARED_CHARTS`, :data:`config.catalogue.SHARED_CHART_REPOSITORIES`) plus cert-manager
v0.10 (``certmanager.k8s.io/v1alpha1``), kubernetes-external-secrets and the fluxcd repository helm-operator is
told about (research section 9.2)."""
from __future__ import annotations

from ansible_collections.tidepool.eks.plugins.module_utils.config import catalogue
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v1 import external_secrets

#: kubernetes-external-secrets' chart repository.
KES_REPO = "https://external-secrets.github.io/kubernetes-external-secrets/"

#: ``(name, url)`` in the order helm-operator's repositories file lists them.
CHART_REPOSITORIES = catalogue.SHARED_CHART_REPOSITORIES + (
    ("fluxcd", "https://charts.fluxcd.io"),
    ("external-secrets", KES_REPO),
)

#: The chart of each package with a release (``pkgs.<pkg>.chart`` overrides it).
CHARTS = {
    **catalogue.SHARED_CHARTS,
    "certmanager": {"repository": "https://charts.jetstack.io", "name": "cert-manager", "version": "v0.10.0"},
    "external-secrets": {"repository": KES_REPO, "name": "kubernetes-external-secrets", "version": "8.5.5"},
}


def chart_values(pkg: str, settings: dict) -> dict:
    """Values of the chart of ``pkg`` where the chart is this flavour's own (``certmanager``,
    ``external-secrets``); ``settings``: ``region`` and ``log_level`` of the inventory. Raises KeyError for
    another package."""
    if pkg == "certmanager":
        # cert-manager v0.10's chart; IRSA needs the pod to read its projected token.
        return {"serviceAccount": {"create": False, "name": "certmanager"},
                "securityContext": {"enabled": True, "fsGroup": 1001}}
    if pkg == "external-secrets":
        # kubernetes-external-secrets reads with the IRSA role of its own service account (eksctl creates it)
        return {"fullnameOverride": "external-secrets",
                "serviceAccount": {"create": False, "name": "external-secrets"},
                "securityContext": {"fsGroup": 65534, "runAsNonRoot": True},
                "env": {"AWS_REGION": settings["region"], "AWS_DEFAULT_REGION": settings["region"],
                        "POLLER_INTERVAL_MILLISECONDS": 60000, "LOG_LEVEL": settings["log_level"],
                        **external_secrets.ENFORCE_ENV},  # each namespace reads only its own secrets
                "crds": {"create": True}}
    raise KeyError(pkg)
