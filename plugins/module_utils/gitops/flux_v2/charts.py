# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""The chart catalogue of Flux v2 (the current stack): the shared charts and repositories
(:data:`config.catalogue.SHARED_CHARTS`, :data:`config.catalogue.SHARED_CHART_REPOSITORIES`) plus cert-manager 1.x
(``cert-manager.io/v1``) and the External Secrets Operator (``external-secrets.io/v1``) in place of
kubernetes-external-secrets, each the version of the reference CRDs."""
from __future__ import annotations

from ansible_collections.tidepool.eks.plugins.module_utils.config import catalogue

#: The External Secrets Operator's chart repository.
ESO_REPO = "https://charts.external-secrets.io"

#: ``(name, url)``: a HelmRepository each, in this order.
CHART_REPOSITORIES = catalogue.SHARED_CHART_REPOSITORIES + (
    ("external-secrets", ESO_REPO),
)

#: The chart of each package with a release (``pkgs.<pkg>.chart`` overrides it).
CHARTS = {
    **catalogue.SHARED_CHARTS,
    "certmanager": {"repository": "https://charts.jetstack.io", "name": "cert-manager", "version": "v1.21.1"},
    "external-secrets": {"repository": ESO_REPO, "name": "external-secrets", "version": "2.9.0"},
}

#: ExternalSecrets the External Secrets Operator reconciles at once (its chart's ``concurrent``, default 1).
ESO_CONCURRENT = 8
#: The operator's Kubernetes client rate (its ``--client-qps`` / ``--client-burst``, defaults 50 / 100; the chart's
#: ``extraArgs``). Each ExternalSecret synced is two writes (the Secret, its status): at 50 a second, 340
#: ExternalSecrets (20 environments) need 14 s of writes alone (benchmarks/gitops_loop.py). API Priority and
#: Fairness on the API server (EKS has it) still bounds what one client may take.
ESO_CLIENT_QPS = 150
ESO_CLIENT_BURST = 300


def chart_values(pkg: str, settings: dict) -> dict:
    """Values of the chart of ``pkg`` where the chart is this flavour's own (``certmanager``,
    ``external-secrets``); ``settings``: ``region`` and ``log_level`` of the inventory. Raises KeyError for
    another package."""
    if pkg == "certmanager":
        # cert-manager 1.x's chart installs its CRDs (crds.enabled); the pod security context takes fsGroup directly.
        return {"crds": {"enabled": True}, "serviceAccount": {"create": False, "name": "certmanager"},
                "securityContext": {"runAsNonRoot": True, "fsGroup": 1001,
                                    "seccompProfile": {"type": "RuntimeDefault"}}}
    if pkg == "external-secrets":
        # The External Secrets Operator: its controller holds no AWS permission (each namespace's SecretStore reads
        # with its own IRSA role, config.irsa), so the chart creates a plain service account. ``concurrent``: ESO
        # reconciles one ExternalSecret at a time by default; an environment has about 17 (benchmarks/gitops_loop.py:
        # 340 Secrets of 20 environments took 43 s with 1 and the default client rate, 16.7 s with 8 and the rate
        # above); the local stack runs ESO with the same values (scripts/local_stack/gitops.py).
        return {"fullnameOverride": "external-secrets", "installCRDs": True, "concurrent": ESO_CONCURRENT,
                "extraArgs": {"client-qps": ESO_CLIENT_QPS, "client-burst": ESO_CLIENT_BURST},
                "serviceAccount": {"create": True, "name": "external-secrets"},
                "log": {"level": settings["log_level"]}}
    raise KeyError(pkg)
