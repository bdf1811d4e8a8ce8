# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""The chart catalogue of Flux v1 (the install guide's stack): the 2019 charts of the shared services (the archived
"stable" repository, gloo 0.18, reloader from git; research sections 9.2, 17.3), cert-manager v0.10
(``certmanager.k8s.io/v1alpha1``), kubernetes-external-secrets and the fluxcd repository helm-operator is told
about, with the values of each package's chart (:func:`chart_values`). Helm 2 (Tiller) installs them, so Helm 3
charts (``apiVersion: v2``) have no release here (:data:`EMPTY_PACKAGES`)."""
from __future__ import annotations

from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v1 import external_secrets

#: Helm repository of the archived "stable" charts (the URL the 2019 guide used is gone).
STABLE_REPO = "https://charts.helm.sh/stable"
#: kubernetes-external-secrets' chart repository.
KES_REPO = "https://external-secrets.github.io/kubernetes-external-secrets/"

#: ``(name, url)`` in the order helm-operator's repositories file lists them.
CHART_REPOSITORIES = (
    ("stable", STABLE_REPO),
    ("jetstack", "https://charts.jetstack.io"),
    ("gloo", "https://storage.googleapis.com/solo-public-helm"),
    ("stakater", "https://stakater.github.io/stakater-charts"),
    ("fluxcd", "https://charts.fluxcd.io"),
    ("external-secrets", KES_REPO),
)
_REPO = dict(CHART_REPOSITORIES)


def _chart(repo: str, name: str, version: str) -> dict:
    return {"repository": _REPO[repo], "name": name, "version": version}


#: The chart of each package with a release (``pkgs.<pkg>.chart`` overrides it): a chart of one of the
#: :data:`CHART_REPOSITORIES` (``repository``, ``name``, ``version``) or a chart in a git repository (``git``,
#: ``path``, ``ref``).
CHARTS = {
    "datadog": _chart("stable", "datadog", "1.31.11"),
    "external-dns": _chart("stable", "external-dns", "2.6.1"),
    "fluxcloud": {"git": "git@github.com:tidepool-org/development", "path": "charts/fluxcloud/0.1.0", "ref": "k8s"},
    "gloo": _chart("gloo", "gloo", "0.18.40"),
    "metrics-server": _chart("stable", "metrics-server", "2.8.5"),
    "prometheus-operator": _chart("stable", "prometheus-operator", "5.1.0"),
    # as in the guide; pin with pkgs.reloader.chart.ref
    "reloader": {"git": "git@github.com:stakater/Reloader", "path": "deployments/kubernetes/chart/reloader",
                 "ref": "master"},
    "sumologic": _chart("stable", "sumologic-fluentd", "1.1.0"),
    "certmanager": {"repository": "https://charts.jetstack.io", "name": "cert-manager", "version": "v0.10.0"},
    "external-secrets": {"repository": KES_REPO, "name": "kubernetes-external-secrets", "version": "8.5.5"},
}

#: Packages this flavour cannot install, with why (:func:`config.validation.flavour_errors` names each one enabled).
UNSUPPORTED_PACKAGES: dict = {}

#: Packages that render no object in this flavour, with why. linkerd-crds stays accepted (one inventory serves both
#: flavours, e.g. before a migration to flux_version 2) but has nothing to do here.
EMPTY_PACKAGES = {
    "linkerd-crds": "the Tidepool chart 0.1.7 of flux_version 1 renders no Linkerd ServiceProfile, and the linkerd-crds "
                    "chart is a Helm 3 chart (apiVersion v2) that Tiller (Helm 2) cannot install",
}


def chart_values(pkg: str, settings: dict) -> dict:
    """Values of the chart of ``pkg`` (a package of :data:`CHARTS` but ``fluxcloud``, whose values are the
    notification settings), before ``pkgs.<pkg>.values``. ``settings`` (:func:`config.packages.chart_settings`):
    ``cluster``, ``region``, ``log_level``, ``domain_filters`` (external-dns), ``service_account`` (the IRSA service
    account eksctl creates, or None). Raises KeyError for another package."""
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
    if pkg == "datadog":
        return {"datadog": {"apiKeyExistingSecret": "datadog", "appKeyExistingSecret": "datadog",
                            "clusterName": settings["cluster"], "logLevel": settings["log_level"]},
                "clusterAgent": {"enabled": True, "tokenExistingSecret": "datadog"},
                "kubeStateMetrics": {"enabled": False}}
    if pkg == "external-dns":
        out = {
            "provider": "aws", "aws": {"zoneType": "public", "region": settings["region"]},
            "txtOwnerId": settings["cluster"], "policy": "upsert-only",
            "logLevel": settings["log_level"],
            "rbac": {"create": True, "serviceAccountName": settings["service_account"]},
            "serviceAccount": {"create": False, "name": settings["service_account"]},
            "securityContext": {"fsGroup": 65534},
            "sources": ["service"],
        }
        if settings["domain_filters"]:
            out["domainFilters"] = list(settings["domain_filters"])
        return out
    if pkg == "gloo":
        return {"crds": {"create": False}, "settings": {"create": True, "writeNamespace": "gloo-system"},
                "discovery": {"fdsMode": "WHITELIST"},
                "gatewayProxies": {"gatewayProxyV2": {
                    "readConfig": True,
                    "service": {"type": "LoadBalancer", "extraAnnotations": {
                        "service.beta.kubernetes.io/aws-load-balancer-type": "nlb",
                        "service.beta.kubernetes.io/aws-load-balancer-additional-resource-tags":
                            f"cluster:{settings['cluster']}",
                    }}}}}
    if pkg == "metrics-server":
        return {"hostNetwork": {"enabled": True}}
    if pkg == "prometheus-operator":
        return {"grafana": {"enabled": True},
                "prometheus": {"prometheusSpec": {"externalLabels": {
                    "cluster": settings["cluster"], "region": settings["region"]}}}}
    if pkg == "reloader":
        return {"reloader": {"serviceAccount": {"create": False, "name": "reloader"}, "watchGlobally": True}}
    if pkg == "sumologic":
        return {"sumologic": {"collectorUrlExistingSecret": "sumologic",
                              "sourceCategoryPrefix": f"{settings['cluster']}/"}}
    raise KeyError(pkg)
