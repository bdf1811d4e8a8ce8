# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Tidepool environments: what each ``environments.<env>`` of the inventory deploys (its namespace, the
``tidepool`` chart release with its values and image automation, the shoreline ConfigMap, its certificate).

The release is written by the GitOps flavour (:class:`gitops.flavour.Flavour`); this file decides its chart,
values (the guide's value paths), which image tags each service follows and which releases it needs first.

Ordering rule (:func:`dependencies`): a release depends on the releases that install the custom resource
definitions its chart's objects use. The tidepool chart creates gloo resources (VirtualServices, Gateways), Linkerd
ServiceProfiles (chart 0.26) and, with HTTPS, cert-manager Certificates, so each environment's release depends on
the ``gloo`` release (``gloo-system``), the ``linkerd-crds`` release (``linkerd``) and the ``certmanager`` release
(``certmanager``) when their packages are enabled. Flavours with no ordering (Flux v1's helm-operator) ignore it.
"""
from __future__ import annotations

from ansible_collections.tidepool.eks.plugins.module_utils.config import catalogue
from ansible_collections.tidepool.eks.plugins.module_utils.config import certificates
from ansible_collections.tidepool.eks.plugins.module_utils.config import chart_mirror
from ansible_collections.tidepool.eks.plugins.module_utils.config import inventory
from ansible_collections.tidepool.eks.plugins.module_utils.config import manifests
from ansible_collections.tidepool.eks.plugins.module_utils.config import tidepool_chart
from ansible_collections.tidepool.eks.plugins.module_utils.common import naming


def _enabled(conf, key, default):
    sub = conf.get(key)
    if isinstance(sub, dict) and "enabled" in sub:
        return bool(sub["enabled"])
    return default


def tidepool_values(values: dict, env: str, chart: dict | None = None) -> dict:
    """``spec.values`` of an environment's ``tidepool`` HelmRelease for ``chart`` (default: chart 0.1.7,
    :data:`tidepool_chart.CHART_0_1`), in that chart's value layout (:func:`tidepool_chart.generation`), then
    ``environments.<env>.values`` merged on top. Raises ValueError when the chart's version cannot be told."""
    conf = inventory.environment_conf(values, env)
    gen = tidepool_chart.generation(chart or tidepool_chart.CHART_0_1)
    out = _values_0_1(values, env, conf) if gen == "0.1" else _values_0_26(values, env, conf)
    return inventory.deep_merge(out, conf.get("values") or {})


def _gateway(conf: dict) -> tuple[str, dict, dict]:
    gateway = conf.get("gateway") or {}
    protocol = (gateway.get("default") or {}).get("protocol", "http")
    http = gateway.get("http") or {"enabled": True, "dnsNames": ["localhost"]}
    https = gateway.get("https") or {"enabled": False, "dnsNames": []}
    return protocol, http, https


def _values_0_1(values: dict, env: str, conf: dict) -> dict:
    """Chart 0.1.7, with the guide's value paths: cluster name and region, S3 store and buckets, hosts (DNS names,
    ports, default protocol), embedded mongodb, nosqlclient, embedded gloo off, HPA."""
    cluster = inventory.cluster_name(values)
    buckets = naming.bucket_names(cluster, env, conf.get("buckets"))
    protocol, http, https = _gateway(conf)
    hosts = {
        "default": {"protocol": protocol},
        "http": {"enabled": bool(http.get("enabled")), "port": "8080", "dnsNames": list(http.get("dnsNames") or [])},
        "https": {"enabled": bool(https.get("enabled")), "port": "8443",
                  "dnsNames": list(https.get("dnsNames") or [])},
    }
    default_host = (hosts[protocol]["dnsNames"] or [None])[0]
    out = {
        "global": {
            "cluster": {"name": cluster, "region": inventory.region(values)},
            "environment": {
                "store": {"type": "s3"},
                "hosts": hosts,
                "hpa": {"create": _enabled(conf, "hpa", True)},
            },
            "gateway": {"default": {"protocol": protocol, "host": default_host}},
        },
        "blob": {"deployment": {"env": {"bucket": buckets["data"]}}},
        "image": {"deployment": {"env": {"bucket": buckets["data"]}}},
        "jellyfish": {"deployment": {"env": {"bucket": buckets["data"]}}},
        "hydrophone": {"deployment": {"env": {"bucket": buckets["asset"]}}},
        "mongodb": {"enabled": _enabled(conf, "mongodb", False)},
        "nosqlclient": {"enabled": _enabled(conf, "nosqlclient", False)},
        "gloo": {"enabled": False},
        "tidepool": {"namespace": {"create": False}},
    }
    if certificates.https_names(conf):
        # The Secret the environment's Certificate writes (certificates.for_environment), as the guide's values had it.
        out["ingress"] = {"certificate": certificates.environment_settings(conf)}
    return out


def _s3(bucket: str) -> dict:
    return {"type": "s3", "s3": {"bucket": bucket}}


#: Services of chart 0.26.0 with neither HorizontalPodAutoscaler nor PodDisruptionBudget, so no ``hpa`` / ``pdb``
#: values: the migrations subchart's only template is its Deployment (``charts/migrations/templates/deployment.yaml``,
#: ``replicas: {{ .Values.deployment.replicas }}``) and its values.yaml has neither key (each other service of
#: :data:`tidepool_chart.SERVICES_0_26` has ``templates/5-hpa.yaml`` or ``6-hpa.yaml`` and ``6-pdb.yaml``).
NO_HPA_PDB_0_26 = frozenset({"migrations"})


def _values_0_26(values: dict, env: str, conf: dict) -> dict:
    """Chart 0.26.0 (value paths of its ``values.yaml`` and subcharts): region, log level and the gateway's default
    host and protocol (``global``); Gloo Edge routes (``global.glooingress``, the ``glooingress`` virtual services
    from ``gateway.http`` / ``gateway.https``, the HTTPS one with the environment Certificate's Secret); Linkerd
    ServiceProfiles only with the ``linkerd-crds`` package; blob's stores in S3 (data bucket), hydrophone's and the
    mailer's asset bucket, each running as its IRSA service account (:data:`tidepool_chart.SERVICE_ACCOUNTS`);
    the HPA (``hpa.enabled``, default on) and PodDisruptionBudget (``pdb.enabled``, default off) of every service
    that has them (not :data:`NO_HPA_PDB_0_26`);
    Keycloak only with ``keycloak.enabled``; Kafka Connect off. The chart reads its Secrets, never writes them
    (``global.secret``: the secrets contract, :data:`tidepool_chart.SECRETS_0_26`)."""
    cluster = inventory.cluster_name(values)
    buckets = naming.bucket_names(cluster, env, conf.get("buckets"))
    protocol, http, https = _gateway(conf)
    names = {"http": list(http.get("dnsNames") or []), "https": list(https.get("dnsNames") or [])}
    default_host = (names[protocol] or ["localhost"])[0]
    virtual_services = {
        "http": {"enabled": bool(http.get("enabled")), "dnsNames": names["http"]},
        "https": {"enabled": bool(https.get("enabled")) and bool(names["https"]), "dnsNames": names["https"],
                  "certificateSecretName": certificates.environment_settings(conf)["secretName"]},
    }
    hpa, pdb = _enabled(conf, "hpa", True), _enabled(conf, "pdb", False)
    out = {
        "global": {
            "region": inventory.region(values),
            "logLevel": values.get("logLevel", "info"),
            "gateway": {"default": {"protocol": protocol, "host": default_host}},
            "glooingress": {"enabled": True},
            "linkerdsupport": {"enabled": "linkerd-crds" in inventory.enabled_pkgs(values)},
            "kafka": {"connect": {"enabled": False}},
            "secret": {"enabled": False, "generated": False, "templated": False},
        },
        "tidepool": {"namespace": {"create": False}},
        "keycloak": {"enabled": _enabled(conf, "keycloak", False)},
        "glooingress": {"virtualServices": virtual_services},
    }
    for svc in tidepool_chart.SERVICES_0_26:
        if svc not in NO_HPA_PDB_0_26:
            out[svc] = {"hpa": {"enabled": hpa}, "pdb": {"enabled": pdb}}
    for svc, (bucket, _access, _email) in tidepool_chart.SERVICE_ACCOUNTS["0.26"].items():
        out.setdefault(svc, {})["serviceAccount"] = {"create": False, "name": svc}
    data, asset = buckets["data"], buckets["asset"]
    out["blob"]["deployment"] = {"env": {"store": _s3(data), "blobs": {"store": _s3(data)},
                                         "logs": {"store": _s3(data)}}}
    out["hydrophone"]["deployment"] = {"env": {"store": {"s3": {"bucket": asset}}}}
    out["mailer"]["deployment"] = {"env": {"store": {"s3": {"bucket": asset}}}}
    return out


def image_policy(values: dict, env: str, chart: dict | None = None) -> dict:
    """``{service: tag filter}`` of the environment's image automation: ``glob:<gitops.branch>-*`` (branch
    default ``develop``) for each Tidepool service of ``chart`` (default chart 0.1.7: its 19 services;
    :data:`tidepool_chart.IMAGES`); ``gitops.<service>`` overrides one service's."""
    gitops = inventory.environment_conf(values, env).get("gitops") or {}
    branch = gitops.get("branch", "develop")
    images = tidepool_chart.IMAGES[tidepool_chart.generation(chart or tidepool_chart.CHART_0_1)]
    return {svc: gitops.get(svc, f"glob:{branch}-*") for svc in images}


#: Packages whose release installs custom resource definitions the tidepool chart uses: ``(package, release)``.
#: linkerd-crds: the ServiceProfiles of chart 0.26 (``global.linkerdsupport.enabled``, on by default); flavour 1
#: (chart 0.1.7, no ServiceProfile) renders no linkerd-crds release and writes no dependsOn.
CRD_RELEASES = (("gloo", "gloo"), ("certmanager", "certmanager"), ("linkerd-crds", "linkerd-crds"))


def dependencies(values: dict) -> list[dict]:
    """``[{name, namespace}]`` of the releases an environment's release needs first (module docstring)."""
    enabled = set(inventory.enabled_pkgs(values))
    return [{"name": release, "namespace": catalogue.PKGS[pkg]["namespace"]}
            for pkg, release in CRD_RELEASES if pkg in enabled]


def environment_chart(values: dict, env: str, flavour) -> dict:
    """The environment's Tidepool chart: the flavour's (``Flavour.TIDEPOOL_CHART``: flavour 1 chart 0.1.7, flavour 2
    chart 0.26.0) with ``environments.<env>.chart`` over it (:func:`tidepool_chart.merge_source`), served by the
    chart mirror when ``helm_chart_mirror`` is set (:mod:`config.chart_mirror`)."""
    chart = tidepool_chart.merge_source(flavour.TIDEPOOL_CHART, inventory.environment_conf(values, env).get("chart"))
    return chart_mirror.mirrored(chart, values.get("helm_chart_mirror"), f"environments.{env}.chart")


def tidepool_release(values: dict, env: str, flavour) -> dict:
    """The environment's ``tidepool`` release as ``flavour`` writes it: releaseName ``<env>-tidepool``, the
    chart of :func:`environment_chart`, :func:`tidepool_values`, images automated with :func:`image_policy`, after
    the releases of :func:`dependencies`, applied client-side where the chart needs it
    (:func:`tidepool_chart.server_side_apply`)."""
    chart = environment_chart(values, env, flavour)
    return flavour.helm_release(naming.ENVIRONMENT_RELEASE, env, chart,
                                tidepool_values(values, env, chart), release_name=naming.environment_release_name(env),
                                image_policy=image_policy(values, env, chart), depends_on=dependencies(values),
                                server_side_apply=tidepool_chart.server_side_apply(chart))


def environment(values: dict, env: str, flavour) -> list[dict]:
    """Objects of one Tidepool environment: its Namespace, the tidepool release (:func:`tidepool_release`) with the
    chart source and image automation the flavour renders for it, when ``clinicDemoUserId`` is set the shoreline
    ConfigMap (guide: Post-Installation Configuration), its Certificate, and with ``pkgs.external-secrets`` enabled
    the flavour's secret-store objects of the namespace and its annotations on the Namespace (flavour 1: KES may
    read only ``<cluster>/<env>/*``)."""
    conf = inventory.environment_conf(values, env)
    chart = environment_chart(values, env, flavour)
    secrets = env in inventory.secret_namespaces(values)
    annotations = flavour.secret_namespace_annotations(inventory.cluster_name(values), env) if secrets else {}
    objs = [
        manifests.namespace(env, labels={"discovery.solo.io/function_discovery": "enabled", "tidepool.org/environment": env},
                            annotations=annotations or None),
        *flavour.release_sources(naming.ENVIRONMENT_RELEASE, env, chart),
        tidepool_release(values, env, flavour),
        *flavour.image_automation(env, image_policy(values, env, chart), {
            "images": tidepool_chart.IMAGES[tidepool_chart.generation(chart)], "email": values["email"],
            "path": f"./{naming.flux_path(inventory.cluster_name(values))}/environments/{env}"}),
    ]
    if conf.get("clinicDemoUserId"):
        objs.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "shoreline", "namespace": env},
                     "data": {"ClinicDemoUserId": conf["clinicDemoUserId"]}})
    cert = certificates.for_environment(values, env, flavour.CERT_MANAGER_API_VERSION)
    if cert:
        objs.append(cert)
    if secrets:
        objs += flavour.secret_store_objects(env, inventory.region(values))
    return objs
