# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""The chart catalogue of Flux v2 (the current stack): every shared service from its maintained chart repository at
a pinned current release (no archived "stable" repository, no chart from before 2024), cert-manager 1.x
(``cert-manager.io/v1``) and the External Secrets Operator (``external-secrets.io/v1``) in place of
kubernetes-external-secrets, each the version of the reference CRDs, with the values of each package's chart
(:func:`chart_values`: the inventory's settings written for that chart's values layout). The pinned copies of these
charts are ``../shared/reference/charts/<chart>/<version>/`` (docs/shared-services.md)."""
from __future__ import annotations

#: The External Secrets Operator's chart repository.
ESO_REPO = "https://charts.external-secrets.io"

#: ``(name, url)``: a HelmRepository each (named so), in this order.
CHART_REPOSITORIES = (
    ("jetstack", "https://charts.jetstack.io"),
    ("gloo", "https://storage.googleapis.com/solo-public-helm"),
    ("stakater", "https://stakater.github.io/stakater-charts"),
    ("external-secrets", ESO_REPO),
    ("external-dns", "https://kubernetes-sigs.github.io/external-dns/"),
    ("metrics-server", "https://kubernetes-sigs.github.io/metrics-server/"),
    ("autoscaler", "https://kubernetes.github.io/autoscaler"),
    ("prometheus-community", "https://prometheus-community.github.io/helm-charts"),
    ("linkerd-edge", "https://helm.linkerd.io/edge"),
)
_REPO = dict(CHART_REPOSITORIES)


#: Charts that render CRDs as templates with no option to annotate them ``helm.sh/resource-policy: keep``: their
#: HelmRelease adds the annotation with a post-renderer (``releases.keep_crds_post_renderer``), so that uninstalling
#: the release never deletes the CRDs and every object of their kinds. Charts with such an option set it in their
#: values (cert-manager ``crds.keep``, on by default; the External Secrets Operator ``crds.annotations``).
KEEP_CRDS_BY_POST_RENDERER = frozenset({"linkerd-crds"})


def _chart(repo: str, name: str, version: str) -> dict:
    return {"repository": _REPO[repo], "name": name, "version": version}


#: The chart of each package with a release (``pkgs.<pkg>.chart`` overrides it).
CHARTS = {
    "certmanager": _chart("jetstack", "cert-manager", "v1.21.1"),
    "cluster-autoscaler": _chart("autoscaler", "cluster-autoscaler", "9.59.0"),
    "external-dns": _chart("external-dns", "external-dns", "1.21.1"),
    "external-secrets": _chart("external-secrets", "external-secrets", "2.9.0"),
    "gloo": _chart("gloo", "gloo", "1.22.1"),   # Gloo Edge, its last release; its crds/ holds the 17 CRDs
    "linkerd-crds": _chart("linkerd-edge", "linkerd-crds", "2026.8.3"),   # Linkerd publishes no newer stable
    "metrics-server": _chart("metrics-server", "metrics-server", "3.13.1"),
    "prometheus-operator": _chart("prometheus-community", "kube-prometheus-stack", "88.5.3"),
    "reloader": _chart("stakater", "reloader", "2.2.16"),
}

_ARCHIVED = ("the stable chart {chart} is archived (its repository is read-only since 2020) and has no flux_version 2 "
             "release; disable the package and install {what} yourself (a HelmRelease of your own in the config "
             "repository), or keep the cluster on flux_version 1")
#: Packages this flavour cannot install, with why (:func:`config.validation.flavour_errors` names each one enabled).
UNSUPPORTED_PACKAGES = {
    "datadog": _ARCHIVED.format(
        chart="datadog 1.31.11",
        what="the Datadog Agent from its own chart (https://helm.datadoghq.com, chart datadog)"),
    "sumologic": _ARCHIVED.format(
        chart="sumologic-fluentd 1.1.0",
        what="Sumo Logic's collection from its own chart (https://sumologic.github.io/sumologic-kubernetes-collection, "
             "chart sumologic)"),
}

#: Packages that render no object in this flavour, with why: gloo 1.22's chart installs its 17 CRDs (VirtualService,
#: RouteTable, Upstream...: crds/, created and replaced with the release), so the hand-written gloo-crds are not needed.
EMPTY_PACKAGES = {
    "gloo-crds": "the gloo chart 1.22.1 installs the Gloo CRDs (its crds/) with the gloo release",
}

#: ExternalSecrets the External Secrets Operator reconciles at once (its chart's ``concurrent``, default 1).
ESO_CONCURRENT = 8
#: The operator's Kubernetes client rate (its ``--client-qps`` / ``--client-burst``, defaults 50 / 100; the chart's
#: ``extraArgs``). Each ExternalSecret synced is two writes (the Secret, its status): at 50 a second, 340
#: ExternalSecrets (20 environments) need 14 s of writes alone (benchmarks/gitops_loop.py). API Priority and
#: Fairness on the API server (EKS has it) still bounds what one client may take.
ESO_CLIENT_QPS = 150
ESO_CLIENT_BURST = 300

#: The log levels of the inventory (``logLevel``) each chart does not know, and the level it gets instead.
_LEVELS = {
    "external-dns": {"trace": "debug", "warn": "warning"},   # panic, debug, info, warning, error, fatal
    "reloader": {"warn": "warning"},                         # trace, debug, info, warning, error, fatal, panic
}


def log_level(pkg: str, level: str) -> str:
    """``level`` (an inventory ``logLevel``) as the chart of ``pkg`` spells it."""
    return _LEVELS.get(pkg, {}).get(level, level)


def _image(image: str | None, default_tag: str) -> dict:
    """``{repository?, tag}`` of a chart's ``image`` from ``repository[:tag]`` (``pkgs.<pkg>.image``)."""
    if not image:
        return {"tag": default_tag}
    repository, sep, tag = image.rpartition(":")
    if not sep or "/" in tag:
        return {"repository": image, "tag": default_tag}
    return {"repository": repository, "tag": tag}


def _certmanager(settings):
    # cert-manager 1.x's chart installs its CRDs (crds.enabled); the pod security context takes fsGroup directly.
    return {"crds": {"enabled": True}, "serviceAccount": {"create": False, "name": settings["service_account"]},
            "securityContext": {"runAsNonRoot": True, "fsGroup": 1001, "seccompProfile": {"type": "RuntimeDefault"}}}


def _cluster_autoscaler(settings):
    # The chart in place of the guide's hand-written Deployment: the same discovery tags, expander and options;
    # the image follows the cluster's Kubernetes minor version (the autoscaler's rule); eksctl creates the IRSA
    # service account (the chart's own RBAC binds it). The chart's own object names (<release>-aws-cluster-autoscaler)
    # differ from flavour 1's Deployment and RBAC `cluster-autoscaler`, which Helm could not adopt on a cluster migrated
    # from flavour 1 (leader election lets one of the two act; docs/flavours.md).
    return {"cloudProvider": "aws", "awsRegion": settings["region"],
            "autoDiscovery": {"clusterName": settings["cluster"]},
            "rbac": {"serviceAccount": {"create": False, "name": settings["service_account"]}},
            "image": _image(settings.get("image"), f"v{settings['kubernetes_version']}.0"),
            "extraArgs": {"expander": "least-waste", "skip-nodes-with-local-storage": False},
            "podAnnotations": {"cluster-autoscaler.kubernetes.io/safe-to-evict": "false"}}


def _external_dns(settings):
    out = {"provider": {"name": "aws"}, "env": [{"name": "AWS_DEFAULT_REGION", "value": settings["region"]}],
           "extraArgs": {"aws-zone-type": "public"},
           "txtOwnerId": settings["cluster"], "policy": "upsert-only",
           "logLevel": log_level("external-dns", settings["log_level"]),
           "serviceAccount": {"create": False, "name": settings["service_account"]},
           "sources": ["service"]}
    if settings["domain_filters"]:
        out["domainFilters"] = list(settings["domain_filters"])
    return out


#: The External Secrets Operator controller's service account. Not ``external-secrets``: that is the name of
#: kubernetes-external-secrets' IRSA account of flavour 1 (``flux_v1.external_secrets.READER_ACCOUNT``, its role reads
#: every secret of the cluster) in the same namespace. With the same name, the chart's upgrade during the move to
#: flavour 2 adopted that account, role annotation included, and ESO's controller ran with flavour 1's role.
ESO_SERVICE_ACCOUNT = "external-secrets-operator"


def _external_secrets(settings):
    # The External Secrets Operator: its controller holds no AWS permission (each namespace's SecretStore reads
    # with its own IRSA role, config.irsa), so the chart creates a plain service account. ``concurrent``: ESO
    # reconciles one ExternalSecret at a time by default; an environment has about 17 (benchmarks/gitops_loop.py:
    # 340 Secrets of 20 environments took 43 s with 1 and the default client rate, 16.7 s with 8 and the rate
    # above); the local stack runs ESO with the same values (scripts/local_stack/gitops.py).
    # The chart renders its CRDs as templates, so uninstalling the release (a HelmRelease deleted or reinstalled)
    # would delete every SecretStore and ExternalSecret with them, and with those their Secrets: the CRDs carry
    # ``helm.sh/resource-policy: keep``, what cert-manager's chart does by default (``crds.keep``).
    return {"fullnameOverride": "external-secrets", "installCRDs": True,
            "crds": {"annotations": {"helm.sh/resource-policy": "keep"}}, "concurrent": ESO_CONCURRENT,
            "extraArgs": {"client-qps": ESO_CLIENT_QPS, "client-burst": ESO_CLIENT_BURST},
            "serviceAccount": {"create": True, "name": ESO_SERVICE_ACCOUNT},
            "log": {"level": settings["log_level"]}}


def _gloo(settings):
    # Gloo Edge 1.22 (gloo's crds/ installs VirtualService, RouteTable, Upstream... with the release); it writes and
    # discovers in its release namespace (gloo-system) by default.
    return {"settings": {"create": True},
            "discovery": {"fdsMode": "WHITELIST"},
            "gatewayProxies": {"gatewayProxy": {"service": {"type": "LoadBalancer", "extraAnnotations": {
                "service.beta.kubernetes.io/aws-load-balancer-type": "nlb",
                "service.beta.kubernetes.io/aws-load-balancer-additional-resource-tags":
                    f"cluster:{settings['cluster']}"}}}}}


def _prometheus_operator(settings):
    # kube-prometheus-stack: the Prometheus Operator with its CRDs (ServiceMonitor, PodMonitor...), Prometheus,
    # Alertmanager, Grafana. EKS runs the control plane: there is no controller-manager, scheduler or etcd to scrape.
    return {"fullnameOverride": "kube-prometheus-stack", "crds": {"enabled": True},
            "grafana": {"enabled": True},
            "kubeControllerManager": {"enabled": False}, "kubeScheduler": {"enabled": False},
            "kubeEtcd": {"enabled": False},
            "prometheus": {"prometheusSpec": {"externalLabels": {
                "cluster": settings["cluster"], "region": settings["region"]}}}}


def _reloader(settings):
    return {"reloader": {"serviceAccount": {"create": False, "name": "reloader"}, "watchGlobally": True,
                         "logLevel": log_level("reloader", settings["log_level"])}}


_VALUES = {
    "certmanager": _certmanager,
    "cluster-autoscaler": _cluster_autoscaler,
    "external-dns": _external_dns,
    "external-secrets": _external_secrets,
    "gloo": _gloo,
    "linkerd-crds": lambda settings: {},   # the CRDs only (ServiceProfile...); installGatewayAPI stays false
    "metrics-server": lambda settings: {},   # the chart's defaults suit EKS (no host network: kubelet has 10250)
    "prometheus-operator": _prometheus_operator,
    "reloader": _reloader,
}
if set(_VALUES) != set(CHARTS):
    raise AssertionError("every chart needs its values")


def chart_values(pkg: str, settings: dict) -> dict:
    """Values of the chart of ``pkg`` (a package of :data:`CHARTS`), before ``pkgs.<pkg>.values``. ``settings``
    (:func:`config.packages.chart_settings`): ``cluster``, ``region``, ``log_level``, ``kubernetes_version``,
    ``domain_filters`` (external-dns), ``service_account`` (the IRSA service account eksctl creates, or None),
    ``image`` (``pkgs.<pkg>.image``, or None). Raises KeyError for another package."""
    return _VALUES[pkg](settings)
