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
from ansible_collections.tidepool.eks.plugins.module_utils.config import inventory
from ansible_collections.tidepool.eks.plugins.module_utils.config import manifests
from ansible_collections.tidepool.eks.plugins.module_utils.common import naming


def _enabled(conf, key, default):
    sub = conf.get(key)
    if isinstance(sub, dict) and "enabled" in sub:
        return bool(sub["enabled"])
    return default


def tidepool_values(values: dict, env: str) -> dict:
    """``spec.values`` of an environment's ``tidepool`` HelmRelease, with the guide's value paths:
    cluster name and region, S3 store and buckets, hosts (DNS names, ports, default protocol), embedded
    mongodb, nosqlclient, embedded gloo off, HPA; then ``environments.<env>.values`` merged on top."""
    conf = inventory.environment_conf(values, env)
    cluster = inventory.cluster_name(values)
    buckets = naming.bucket_names(cluster, env, conf.get("buckets"))
    gateway = conf.get("gateway") or {}
    protocol = (gateway.get("default") or {}).get("protocol", "http")
    http = gateway.get("http") or {"enabled": True, "dnsNames": ["localhost"]}
    https = gateway.get("https") or {"enabled": False, "dnsNames": []}
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
    return inventory.deep_merge(out, conf.get("values") or {})


def image_policy(values: dict, env: str) -> dict:
    """``{service: tag filter}`` of the environment's image automation: ``glob:<gitops.branch>-*`` (branch
    default ``develop``) for each of the 19 Tidepool services; ``gitops.<service>`` overrides one service's."""
    gitops = inventory.environment_conf(values, env).get("gitops") or {}
    branch = gitops.get("branch", "develop")
    return {svc: gitops.get(svc, f"glob:{branch}-*") for svc in catalogue.TIDEPOOL_SERVICES}


#: Packages whose release installs custom resource definitions the tidepool chart uses: ``(package, release)``.
#: linkerd-crds: the ServiceProfiles of chart 0.26 (``global.linkerdsupport.enabled``, on by default); flavour 1
#: (chart 0.1.7, no ServiceProfile) renders no linkerd-crds release and writes no dependsOn.
CRD_RELEASES = (("gloo", "gloo"), ("certmanager", "certmanager"), ("linkerd-crds", "linkerd-crds"))


def dependencies(values: dict) -> list[dict]:
    """``[{name, namespace}]`` of the releases an environment's release needs first (module docstring)."""
    enabled = set(inventory.enabled_pkgs(values))
    return [{"name": release, "namespace": catalogue.PKGS[pkg]["namespace"]}
            for pkg, release in CRD_RELEASES if pkg in enabled]


def tidepool_chart(values: dict, env: str) -> dict:
    """The environment's chart: :data:`catalogue.TIDEPOOL_CHART` with ``environments.<env>.chart`` merged over it."""
    return inventory.deep_merge(catalogue.TIDEPOOL_CHART, inventory.environment_conf(values, env).get("chart") or {})


def tidepool_release(values: dict, env: str, flavour) -> dict:
    """The environment's ``tidepool`` release as ``flavour`` writes it: releaseName ``<env>-tidepool``, the
    chart of :func:`tidepool_chart`, :func:`tidepool_values`, images automated with :func:`image_policy`, after
    the releases of :func:`dependencies`."""
    return flavour.helm_release(naming.ENVIRONMENT_RELEASE, env, tidepool_chart(values, env),
                                tidepool_values(values, env), release_name=naming.environment_release_name(env),
                                image_policy=image_policy(values, env), depends_on=dependencies(values))


def environment(values: dict, env: str, flavour) -> list[dict]:
    """Objects of one Tidepool environment: its Namespace, the tidepool release (:func:`tidepool_release`) with the
    chart source and image automation the flavour renders for it, when ``clinicDemoUserId`` is set the shoreline
    ConfigMap (guide: Post-Installation Configuration), its Certificate, and with ``pkgs.external-secrets`` enabled
    the flavour's secret-store objects of the namespace and its annotations on the Namespace (flavour 1: KES may
    read only ``<cluster>/<env>/*``)."""
    conf = inventory.environment_conf(values, env)
    secrets = env in inventory.secret_namespaces(values)
    annotations = flavour.secret_namespace_annotations(inventory.cluster_name(values), env) if secrets else {}
    objs = [
        manifests.namespace(env, labels={"discovery.solo.io/function_discovery": "enabled", "tidepool.org/environment": env},
                            annotations=annotations or None),
        *flavour.release_sources(naming.ENVIRONMENT_RELEASE, env, tidepool_chart(values, env)),
        tidepool_release(values, env, flavour),
        *flavour.image_automation(env, image_policy(values, env), {
            "images": catalogue.TIDEPOOL_IMAGES, "email": values["email"],
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
