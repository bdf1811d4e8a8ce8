# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""The shared services (``pkgs``): one builder per package of :data:`config.catalogue.PKGS`.

Each builder takes the validated values and the GitOps flavour and returns the package's objects: plain
manifests (Namespaces, RBAC, DaemonSets...) and, for a chart, the flavour's release object for the chart of
the flavour's ``CHARTS`` with the package's values; ``pkgs.<pkg>.chart`` / ``pkgs.<pkg>.values`` are
merged over both (:func:`config.inventory.deep_merge`).
"""
from __future__ import annotations

from ansible_collections.tidepool.eks.plugins.module_utils.config import catalogue
from ansible_collections.tidepool.eks.plugins.module_utils.config import certificates
from ansible_collections.tidepool.eks.plugins.module_utils.config import chart_mirror
from ansible_collections.tidepool.eks.plugins.module_utils.config import inventory
from ansible_collections.tidepool.eks.plugins.module_utils.config import manifests
from ansible_collections.tidepool.eks.plugins.module_utils.config import route53


def _pkg_release(values, flavour, pkg, name, chart_values, **kw):
    """``[sources only it uses..., release]``: the flavour's release of a package with the flavour's chart
    (``Flavour.chart``), ``pkgs.<pkg>.chart`` / ``pkgs.<pkg>.values`` overrides applied, served by the chart mirror
    when ``helm_chart_mirror`` is set (:mod:`config.chart_mirror`)."""
    conf = values["pkgs"][pkg]
    chart = chart_mirror.mirrored(inventory.deep_merge(flavour.chart(pkg), conf.get("chart") or {}),
                                  values.get("helm_chart_mirror"), f"pkgs.{pkg}.chart")
    chart_values = inventory.deep_merge(chart_values, conf.get("values") or {})
    ns = catalogue.PKGS[pkg]["namespace"]
    return [*flavour.release_sources(name, ns, chart), flavour.helm_release(name, ns, chart, chart_values, **kw)]


def _pkg_amazon_cloudwatch(values, flavour):
    cluster, region = inventory.cluster_name(values), inventory.region(values)
    ns = "amazon-cloudwatch"
    conf = values["pkgs"]["amazon-cloudwatch"]
    # The guide's image; pin a tag with pkgs.amazon-cloudwatch.image.
    image = conf.get("image", "amazon/cloudwatch-agent:latest")
    agent_config = (
        '{"agent": {"region": "%s"}, "logs": {"metrics_collected": {"kubernetes": '
        '{"cluster_name": "%s", "metrics_collection_interval": 60}}, "force_flush_interval": 5}}' % (region, cluster)
    )
    labels = {"name": "cloudwatch-agent"}
    return [
        manifests.namespace(ns, labels={"name": ns}),
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cwagentconfig", "namespace": ns},
         "data": {"cwagentconfig.json": agent_config}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cluster-info", "namespace": ns},
         "data": {"cluster.name": cluster, "logs.region": region}},
        *manifests.rbac("cloudwatch-agent-role", ns, "cloudwatch", [
            {"apiGroups": [""], "resources": ["pods", "nodes", "endpoints"], "verbs": ["list", "watch"]},
            {"apiGroups": ["apps"], "resources": ["replicasets"], "verbs": ["list", "watch"]},
            {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["list", "watch"]},
            {"apiGroups": [""], "resources": ["nodes/proxy"], "verbs": ["get"]},
            {"apiGroups": [""], "resources": ["nodes/stats", "configmaps", "events"], "verbs": ["create"]},
            {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["cwagent-clusterleader"],
             "verbs": ["get", "update"]},
        ]),
        {
            "apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "cloudwatch-agent", "namespace": ns},
            "spec": {
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        # The IRSA service account eksctl creates (ClusterConfig iam.serviceAccounts).
                        "serviceAccountName": "cloudwatch",
                        "terminationGracePeriodSeconds": 60,
                        "containers": [{
                            "name": "cloudwatch-agent", "image": image,
                            "resources": {"limits": {"cpu": "200m", "memory": "200Mi"},
                                          "requests": {"cpu": "200m", "memory": "200Mi"}},
                            "env": [
                                {"name": "HOST_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.hostIP"}}},
                                {"name": "HOST_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
                                {"name": "K8S_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                            ],
                            "volumeMounts": [{"name": "cwagentconfig", "mountPath": "/etc/cwagentconfig"}],
                        }],
                        "volumes": [{"name": "cwagentconfig", "configMap": {"name": "cwagentconfig"}}],
                    },
                },
            },
        },
    ]


def _chart_settings(values):
    """What the flavour's own charts take from the inventory (``Flavour.chart_values``)."""
    return {"region": inventory.region(values), "log_level": values.get("logLevel", "info")}


def _pkg_certmanager(values, flavour):
    api = flavour.CERT_MANAGER_API_VERSION
    return [
        manifests.namespace("certmanager", labels=certificates.disable_validation_labels(api)),
        *_pkg_release(values, flavour, "certmanager", "certmanager",
                      flavour.chart_values("certmanager", _chart_settings(values))),
        *certificates.cluster_issuers(values, api),
        *certificates.shared(values, api),   # the guide's shared certificates in `default` (TLS appendix)
    ]


def _pkg_cluster_autoscaler(values, flavour):
    cluster = inventory.cluster_name(values)
    conf = values["pkgs"]["cluster-autoscaler"]
    image = conf.get("image") or (
        "registry.k8s.io/autoscaling/cluster-autoscaler:v%s.0" % inventory.kubernetes_version(values))
    ns, sa = "kube-system", "cluster-autoscaler"
    labels = {"app": "cluster-autoscaler"}
    return [
        *manifests.rbac("cluster-autoscaler", ns, sa, [
            {"apiGroups": [""], "resources": ["events", "endpoints"], "verbs": ["create", "patch"]},
            {"apiGroups": [""], "resources": ["pods/eviction"], "verbs": ["create"]},
            {"apiGroups": [""], "resources": ["pods/status"], "verbs": ["update"]},
            {"apiGroups": [""], "resources": ["endpoints"], "resourceNames": ["cluster-autoscaler"],
             "verbs": ["get", "update"]},
            {"apiGroups": [""], "resources": ["nodes"], "verbs": ["watch", "list", "get", "update"]},
            {"apiGroups": [""], "resources": ["namespaces", "pods", "services", "replicationcontrollers",
                                              "persistentvolumeclaims", "persistentvolumes"],
             "verbs": ["watch", "list", "get"]},
            {"apiGroups": ["apps"], "resources": ["statefulsets", "replicasets", "daemonsets"],
             "verbs": ["watch", "list", "get"]},
            {"apiGroups": ["policy"], "resources": ["poddisruptionbudgets"], "verbs": ["watch", "list"]},
            {"apiGroups": ["batch"], "resources": ["jobs", "cronjobs"], "verbs": ["watch", "list", "get"]},
            {"apiGroups": ["storage.k8s.io"], "resources": ["storageclasses", "csinodes", "csidrivers",
                                                            "csistoragecapacities"],
             "verbs": ["watch", "list", "get"]},
            {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create", "get", "update"]},
            {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["create", "list", "watch", "get", "update"]},
        ]),
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "cluster-autoscaler", "namespace": ns,
                                                                     "labels": labels},
         "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                  "template": {"metadata": {"labels": labels,
                                            "annotations": {"cluster-autoscaler.kubernetes.io/safe-to-evict": "false"}},
                               "spec": {
                                   "serviceAccountName": sa,
                                   "securityContext": {"fsGroup": 65534},
                                   "containers": [{
                                       "name": "cluster-autoscaler", "image": image,
                                       "command": [
                                           "./cluster-autoscaler", "--v=4", "--stderrthreshold=info",
                                           "--cloud-provider=aws", "--expander=least-waste",
                                           "--skip-nodes-with-local-storage=false",
                                           "--node-group-auto-discovery=asg:tag=k8s.io/cluster-autoscaler/enabled,"
                                           f"k8s.io/cluster-autoscaler/{cluster}",
                                       ],
                                       "env": [{"name": "AWS_REGION", "value": inventory.region(values)}],
                                       "resources": {"limits": {"cpu": "100m", "memory": "300Mi"},
                                                     "requests": {"cpu": "100m", "memory": "300Mi"}},
                                   }]}}}},
    ]


def _pkg_datadog(values, flavour):
    return [
        manifests.namespace("datadog"),
        *_pkg_release(values, flavour, "datadog", "datadog-agent", {
            "datadog": {"apiKeyExistingSecret": "datadog", "appKeyExistingSecret": "datadog",
                        "clusterName": inventory.cluster_name(values), "logLevel": values.get("logLevel", "info")},
            "clusterAgent": {"enabled": True, "tokenExistingSecret": "datadog"},
            "kubeStateMetrics": {"enabled": False},
        }, release_name="datadog"),
    ]


def _pkg_external_dns(values, flavour):
    chart_values = {
        "provider": "aws", "aws": {"zoneType": "public", "region": inventory.region(values)},
        "txtOwnerId": inventory.cluster_name(values), "policy": "upsert-only",
        "logLevel": values.get("logLevel", "info"),
        "rbac": {"create": True, "serviceAccountName": "external-dns"},
        "serviceAccount": {"create": False, "name": "external-dns"},
        "securityContext": {"fsGroup": 65534},
        "sources": ["service"],
    }
    # Only records under the inventory's DNS names (pkgs.external-dns.domainFilters when set): config.route53.
    domain_filters = route53.domain_filters(values)
    if domain_filters:
        chart_values["domainFilters"] = domain_filters
    return [manifests.namespace("external-dns"),
            *_pkg_release(values, flavour, "external-dns", "external-dns", chart_values)]


def _pkg_external_secrets(values, flavour):
    # the secrets controller is the flavour's (kubernetes-external-secrets, the External Secrets Operator), and so
    # are its chart's values
    return [manifests.namespace("external-secrets"),
            *_pkg_release(values, flavour, "external-secrets", "external-secrets",
                          flavour.chart_values("external-secrets", _chart_settings(values)))]


def _pkg_flux(values, flavour):
    # The same objects flux_bootstrap applies (the flavour builds both). Flux v2's namespace flux-system belongs to
    # its install (flux-system/gotk-components.yaml), so only flavour 1 renders the operator's namespace here.
    ns = flavour.OPERATOR_NAMESPACE
    mirror = values.get("helm_chart_mirror")
    sources = flavour.chart_sources(ns, flavour.CHART_REPOSITORIES + ((("mirror", mirror),) if mirror else ()))
    return ([manifests.namespace(ns)] if flavour.RENDERS_OPERATOR_NAMESPACE else []) + sources


def _pkg_fluxcloud(values, flavour):
    conf = values["pkgs"]["fluxcloud"]
    cluster = inventory.cluster_name(values)
    settings = {"channel": conf.get("channel", f"#flux-{cluster}"), "username": conf.get("username", "flux"),
                "secret": conf.get("secret", "slack"), "github_url": conf.get("githubUrl", "")}
    ns = catalogue.PKGS["fluxcloud"]["namespace"]
    objs = flavour.notification_objects(ns, settings, inventory.environments(values))
    if objs is None:
        return [*_pkg_release(values, flavour, "fluxcloud", "fluxcloud", flavour.notifications(settings))]
    # The relay's objects live where fluxcloud did (the Slack Secret of the secrets catalogue is there).
    return [manifests.namespace(ns), *objs]


def _pkg_gloo(values, flavour):
    cluster = inventory.cluster_name(values)
    return [
        manifests.namespace("gloo-system"),
        *_pkg_release(values, flavour, "gloo", "gloo",
                      {"crds": {"create": False}, "settings": {"create": True, "writeNamespace": "gloo-system"},
                       "discovery": {"fdsMode": "WHITELIST"},
                       "gatewayProxies": {"gatewayProxyV2": {
                           "readConfig": True,
                           "service": {"type": "LoadBalancer", "extraAnnotations": {
                               "service.beta.kubernetes.io/aws-load-balancer-type": "nlb",
                               "service.beta.kubernetes.io/aws-load-balancer-additional-resource-tags":
                                   f"cluster:{cluster}",
                           }}}}}),
    ]


GLOO_CRDS = (
    ("gloo.solo.io", "settings", "Settings", "st", "v1"),
    ("gloo.solo.io", "proxies", "Proxy", "px", "v1"),
    ("gloo.solo.io", "upstreams", "Upstream", "us", "v1"),
    ("gloo.solo.io", "upstreamgroups", "UpstreamGroup", "ug", "v1"),
    ("gateway.solo.io", "virtualservices", "VirtualService", "vs", "v1"),
    ("gateway.solo.io", "routetables", "RouteTable", "rt", "v1"),
    ("gateway.solo.io.v2", "gateways", "Gateway", "gw", "v2"),
)


def _pkg_gloo_crds(values, flavour):
    out = []
    for group, plural, kind, short, version in GLOO_CRDS:
        out.append({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.{group}", "annotations": {"helm.sh/hook": "crd-install"}},
            "spec": {
                "group": group, "scope": "Namespaced",
                "names": {"kind": kind, "listKind": f"{kind}List", "plural": plural,
                          "singular": kind.lower(), "shortNames": [short]},
                "versions": [{"name": version, "served": True, "storage": True,
                              "schema": {"openAPIV3Schema": {"type": "object",
                                                             "x-kubernetes-preserve-unknown-fields": True}}}],
            },
        })
    return out


def _pkg_metrics_server(values, flavour):
    return [manifests.namespace("metrics-server"),
            *_pkg_release(values, flavour, "metrics-server", "metrics-server",
                          {"hostNetwork": {"enabled": True}})]


def _pkg_prometheus_operator(values, flavour):
    return [manifests.namespace("monitoring"),
            *_pkg_release(values, flavour, "prometheus-operator", "prometheus-operator",
                          {"grafana": {"enabled": True},
                           "prometheus": {"prometheusSpec": {"externalLabels": {
                               "cluster": inventory.cluster_name(values), "region": inventory.region(values)}}}})]


def _pkg_reloader(values, flavour):
    return [
        manifests.namespace("reloader"),
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "reloader", "namespace": "reloader"}},
        *_pkg_release(values, flavour, "reloader", "reloader",
                      {"reloader": {"serviceAccount": {"create": False, "name": "reloader"},
                                    "watchGlobally": True}}),
    ]


def _pkg_sumologic(values, flavour):
    return [manifests.namespace("sumologic"),
            *_pkg_release(values, flavour, "sumologic", "sumologic-fluentd",
                          {"sumologic": {"collectorUrlExistingSecret": "sumologic",
                                         "sourceCategoryPrefix": f"{inventory.cluster_name(values)}/"}})]


PKG_BUILDERS = {
    "amazon-cloudwatch": _pkg_amazon_cloudwatch,
    "certmanager": _pkg_certmanager,
    "cluster-autoscaler": _pkg_cluster_autoscaler,
    "datadog": _pkg_datadog,
    "external-dns": _pkg_external_dns,
    "external-secrets": _pkg_external_secrets,
    "flux": _pkg_flux,
    "fluxcloud": _pkg_fluxcloud,
    "gloo": _pkg_gloo,
    "gloo-crds": _pkg_gloo_crds,
    "metrics-server": _pkg_metrics_server,
    "prometheus-operator": _pkg_prometheus_operator,
    "reloader": _pkg_reloader,
    "sumologic": _pkg_sumologic,
}
if set(PKG_BUILDERS) != set(catalogue.PKGS):
    raise AssertionError("every package of the catalogue needs a builder")


def shared_services(values: dict, flavour) -> dict:
    """``{pkg: [objects]}`` for every enabled package, releases and chart sources written by ``flavour``
    (:class:`gitops.flavour.Flavour`); a package's namespace that holds secrets
    (:func:`config.inventory.secret_namespaces`) also gets the flavour's secret-store objects, and the flavour's
    annotations on that Namespace where a package renders it."""
    out = {pkg: PKG_BUILDERS[pkg](values, flavour) for pkg in inventory.enabled_pkgs(values)}
    for ns, pkg in inventory.secret_namespaces(values).items():
        if pkg is None:
            continue
        out[pkg] += flavour.secret_store_objects(ns, inventory.region(values))
        annotations = flavour.secret_namespace_annotations(inventory.cluster_name(values), ns)
        for obj in (o for objs in out.values() for o in objs):  # fluxcloud's flux namespace is pkgs.flux's
            if obj["kind"] == "Namespace" and obj["metadata"]["name"] == ns and annotations:
                obj["metadata"].setdefault("annotations", {}).update(annotations)
    return out
