# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""The shared services (``pkgs``): one builder per package of :data:`config.catalogue.PKGS`.

Each builder takes the validated values and the GitOps flavour and returns the package's objects: plain
manifests (Namespaces, RBAC, DaemonSets...) and, for a chart, the flavour's release object for the chart of
the flavour's ``CHARTS`` with the values the flavour writes for it (``Flavour.chart_values`` of
:func:`chart_settings`); ``pkgs.<pkg>.chart`` / ``pkgs.<pkg>.values`` are merged over both
(:func:`config.inventory.deep_merge`). This file keeps what every flavour shares: namespaces, RBAC, IRSA service
account names, certificates, the plain manifests of packages the flavour has no chart for (cluster-autoscaler and
gloo-crds of flavour 1).
"""
from __future__ import annotations

from ansible_collections.tidepool.eks.plugins.module_utils.common.errors import TidepoolError
from ansible_collections.tidepool.eks.plugins.module_utils.config import catalogue
from ansible_collections.tidepool.eks.plugins.module_utils.config import certificates
from ansible_collections.tidepool.eks.plugins.module_utils.config import chart_mirror
from ansible_collections.tidepool.eks.plugins.module_utils.config import inventory
from ansible_collections.tidepool.eks.plugins.module_utils.config import manifests
from ansible_collections.tidepool.eks.plugins.module_utils.config import route53


def chart_settings(values: dict, pkg: str) -> dict:
    """What the flavour's chart of ``pkg`` takes from the inventory (``Flavour.chart_values``): ``cluster``,
    ``region``, ``log_level`` (``logLevel``, default ``info``), ``kubernetes_version``, ``domain_filters``
    (:func:`config.route53.domain_filters`), ``service_account`` (the package's IRSA service account, which eksctl
    creates, or None) and ``image`` (``pkgs.<pkg>.image`` or None)."""
    conf = (values.get("pkgs") or {}).get(pkg) or {}
    return {"cluster": inventory.cluster_name(values), "region": inventory.region(values),
            "log_level": values.get("logLevel", "info"), "kubernetes_version": inventory.kubernetes_version(values),
            "domain_filters": route53.domain_filters(values) if pkg == "external-dns" else [],
            "service_account": catalogue.PKGS[pkg]["irsa"], "image": conf.get("image")}


def _pkg_release(values, flavour, pkg, name, chart_values=None, **kw):
    """``[sources only it uses..., release]``: the flavour's release of a package with the flavour's chart
    (``Flavour.chart``) and values (``Flavour.chart_values``, unless ``chart_values`` is given),
    ``pkgs.<pkg>.chart`` / ``pkgs.<pkg>.values`` overrides applied, served by the chart mirror when
    ``helm_chart_mirror`` is set (:mod:`config.chart_mirror`)."""
    conf = values["pkgs"][pkg]
    chart = chart_mirror.mirrored(inventory.deep_merge(flavour.chart(pkg), conf.get("chart") or {}),
                                  values.get("helm_chart_mirror"), f"pkgs.{pkg}.chart")
    if chart_values is None:
        chart_values = flavour.chart_values(pkg, chart_settings(values, pkg))
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


def _pkg_certmanager(values, flavour):
    api = flavour.CERT_MANAGER_API_VERSION
    return [
        manifests.namespace("certmanager", labels=certificates.disable_validation_labels(api)),
        *_pkg_release(values, flavour, "certmanager", "certmanager"),
        *certificates.cluster_issuers(values, api),
        *certificates.shared(values, api),   # the guide's shared certificates in `default` (TLS appendix)
    ]


def _pkg_cluster_autoscaler(values, flavour):
    if "cluster-autoscaler" in flavour.CHARTS:   # the chart (its own RBAC for the IRSA service account eksctl creates)
        return _pkg_release(values, flavour, "cluster-autoscaler", "cluster-autoscaler")
    # no chart in the flavour: the guide's Deployment and RBAC
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
        *_pkg_release(values, flavour, "datadog", "datadog-agent", release_name="datadog"),
    ]


def _pkg_external_dns(values, flavour):
    # Only records under the inventory's DNS names (pkgs.external-dns.domainFilters when set): chart_settings.
    return [manifests.namespace("external-dns"), *_pkg_release(values, flavour, "external-dns", "external-dns")]


def _pkg_external_secrets(values, flavour):
    # the secrets controller is the flavour's (kubernetes-external-secrets, the External Secrets Operator), and so
    # are its chart's values
    return [manifests.namespace("external-secrets"),
            *_pkg_release(values, flavour, "external-secrets", "external-secrets")]


def _pkg_flux(values, flavour):
    # The same objects flux_bootstrap applies (the flavour builds both). Flux v2's namespace flux-system belongs to
    # its install (flux-system/gotk-components.yaml), so only flavour 1 renders the operator's namespace here.
    ns = flavour.OPERATOR_NAMESPACE
    sources = flavour.chart_sources(ns, chart_mirror.with_mirror(flavour.CHART_REPOSITORIES,
                                                                 values.get("helm_chart_mirror")))
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
    return [manifests.namespace("gloo-system"), *_pkg_release(values, flavour, "gloo", "gloo")]


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


def _pkg_linkerd_crds(values, flavour):
    # Linkerd's CRDs (ServiceProfile...) that the Tidepool chart's ServiceProfiles need; not the Linkerd control plane.
    return [manifests.namespace("linkerd"), *_pkg_release(values, flavour, "linkerd-crds", "linkerd-crds")]


def _pkg_metrics_server(values, flavour):
    return [manifests.namespace("metrics-server"),
            *_pkg_release(values, flavour, "metrics-server", "metrics-server")]


def _pkg_prometheus_operator(values, flavour):
    return [manifests.namespace("monitoring"),
            *_pkg_release(values, flavour, "prometheus-operator", "prometheus-operator")]


def _pkg_reloader(values, flavour):
    return [
        manifests.namespace("reloader"),
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "reloader", "namespace": "reloader"}},
        *_pkg_release(values, flavour, "reloader", "reloader"),
    ]


def _pkg_sumologic(values, flavour):
    return [manifests.namespace("sumologic"),
            *_pkg_release(values, flavour, "sumologic", "sumologic-fluentd")]


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
    "linkerd-crds": _pkg_linkerd_crds,
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
    annotations on that Namespace where a package renders it. A package of ``flavour.EMPTY_PACKAGES`` renders no
    object; one of ``flavour.UNSUPPORTED_PACKAGES`` raises :class:`TidepoolError` naming it (the inventory validation
    refuses it first)."""
    unsupported = [pkg for pkg in inventory.enabled_pkgs(values) if pkg in flavour.UNSUPPORTED_PACKAGES]
    if unsupported:   # config.validation refuses them first; never render half a package
        raise TidepoolError(f"pkgs.{unsupported[0]}: has no flux_version {flavour.VERSION} equivalent: "
                            f"{flavour.UNSUPPORTED_PACKAGES[unsupported[0]]}")
    out = {pkg: [] if pkg in flavour.EMPTY_PACKAGES else PKG_BUILDERS[pkg](values, flavour)
           for pkg in inventory.enabled_pkgs(values)}
    for ns, pkg in inventory.secret_namespaces(values).items():
        if pkg is None:
            continue
        out[pkg] += flavour.secret_store_objects(ns, inventory.region(values))
        annotations = flavour.secret_namespace_annotations(inventory.cluster_name(values), ns)
        for obj in (o for objs in out.values() for o in objs):  # fluxcloud's flux namespace is pkgs.flux's
            if obj["kind"] == "Namespace" and obj["metadata"]["name"] == ns and annotations:
                obj["metadata"].setdefault("annotations", {}).update(annotations)
    return out
