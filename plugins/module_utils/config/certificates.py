# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""cert-manager Certificates of the install guide (appendix "How To Generate Cluster-wide Shared TLS Certificates"
and the per-environment certificate of the tpctl era, research section 17.4).

* Shared certificates: the inventory's ``certificates`` list (``name``, ``dnsNames``, optional ``issuer``,
  ``secretName``) becomes Certificates in namespace ``default``, issued by a ClusterIssuer with ACME DNS-01 through
  Route 53 (the ClusterIssuers ``letsencrypt-staging`` / ``letsencrypt-production`` of pkgs.certmanager).
* Environment certificates: an environment whose ``gateway.https.enabled`` is true gets a Certificate in its
  namespace for its ``gateway.https.dnsNames`` (the first is the common name and the object's name), from
  ``environments.<env>.certificate.issuer`` (default ``letsencrypt-staging``, as the guide advises: switch to
  production once the staging certificate works), into the Secret ``environments.<env>.certificate.secret``
  (default ``tls-secret``) - the same name the environment's HelmRelease values carry (``ingress.certificate``).

The API version is the GitOps flavour's (``Flavour.CERT_MANAGER_API_VERSION``): cert-manager v0.10's
``certmanager.k8s.io/v1alpha1`` (flavour 1, ACME settings on each Certificate) or cert-manager 1.x's
``cert-manager.io/v1`` (flavour 2, the DNS-01 solver on the ClusterIssuer). Same inventory keys for both.
"""
from __future__ import annotations

import re

from ansible_collections.tidepool.eks.plugins.module_utils.common import naming

API_VERSION = "certmanager.k8s.io/v1alpha1"
CURRENT_API_VERSION = "cert-manager.io/v1"
#: ACME directories of the ClusterIssuers, in the order they are rendered.
ACME_SERVERS = (("letsencrypt-staging", "https://acme-staging-v02.api.letsencrypt.org/directory"),
                ("letsencrypt-production", "https://acme-v02.api.letsencrypt.org/directory"))
ISSUERS = ("letsencrypt-staging", "letsencrypt-production")
DEFAULT_ISSUER = "letsencrypt-staging"
DEFAULT_ENV_SECRET = "tls-secret"
SHARED_NAMESPACE = "default"

#: A host name of a certificate or a gateway (lower case; a leading ``*.`` for wildcards), ASCII, anchored.
HOST_PATTERN = r"\A(\*\.)?([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)*[a-z0-9]([-a-z0-9]*[a-z0-9])?\Z"
_HOST_RE = re.compile(HOST_PATTERN, re.ASCII)


def certificate(name: str, namespace: str, dns_names: list, issuer: str, secret_name: str,
                api_version: str = API_VERSION) -> dict:
    """One Certificate: common name = first DNS name, ACME DNS-01 through Route 53 for every name (v1alpha1: in the
    Certificate; v1: the issuer's solver)."""
    names = list(dns_names)
    spec = {"secretName": secret_name, "issuerRef": {"name": issuer, "kind": "ClusterIssuer"},
            "commonName": names[0], "dnsNames": names}
    if api_version == API_VERSION:
        spec["acme"] = {"config": [{"dns01": {"provider": "route53"}, "domains": names}]}
    return {"apiVersion": api_version, "kind": "Certificate", "metadata": {"name": name, "namespace": namespace},
            "spec": spec}


def cluster_issuers(values: dict, api_version: str = API_VERSION) -> list:
    """The ClusterIssuers of :data:`ISSUERS` (ACME, the inventory's ``email``, DNS-01 through Route 53 in the
    cluster's region)."""
    region, email = values["cluster"]["metadata"]["region"], values["email"]
    out = []
    for name, server in ACME_SERVERS:
        acme = {"server": server, "email": email, "privateKeySecretRef": {"name": name}}
        if api_version == API_VERSION:
            acme["dns01"] = {"providers": [{"name": "route53", "route53": {"region": region}}]}
        else:
            acme["solvers"] = [{"dns01": {"route53": {"region": region}}}]
        out.append({"apiVersion": api_version, "kind": "ClusterIssuer", "metadata": {"name": name},
                    "spec": {"acme": acme}})
    return out


def disable_validation_labels(api_version: str = API_VERSION) -> dict:
    """Labels of cert-manager's own namespace that keep its webhook from validating it."""
    group = "certmanager.k8s.io" if api_version == API_VERSION else "cert-manager.io"
    return {f"{group}/disable-validation": "true"}


def object_name(host: str) -> str:
    """A Certificate name from a host name (``*.example.org`` -> ``wildcard.example.org``)."""
    return ("wildcard." + host[2:] if host.startswith("*.") else host).lower()


def shared(values: dict, api_version: str = API_VERSION) -> list:
    """Certificates in ``default`` for the inventory's ``certificates`` list."""
    out = []
    for entry in values.get("certificates") or []:
        out.append(certificate(entry["name"], SHARED_NAMESPACE, entry["dnsNames"],
                               entry.get("issuer") or DEFAULT_ISSUER, entry.get("secretName") or f"{entry['name']}-tls",
                               api_version))
    return out


def environment_settings(conf: dict) -> dict:
    """``{"secretName", "issuer"}`` of an environment's certificate (its HelmRelease values use the same)."""
    cert = (conf or {}).get("certificate") or {}
    return {"secretName": cert.get("secret") or DEFAULT_ENV_SECRET, "issuer": cert.get("issuer") or DEFAULT_ISSUER}


def https_names(conf: dict) -> list:
    https = (((conf or {}).get("gateway") or {}).get("https") or {})
    return list(https.get("dnsNames") or []) if https.get("enabled") else []


def for_environment(values: dict, env: str, api_version: str = API_VERSION) -> dict | None:
    """The environment's Certificate, or None when HTTPS is off or has no DNS names."""
    conf = (values.get("environments") or {}).get(env) or {}
    names = https_names(conf)
    if not names:
        return None
    settings = environment_settings(conf)
    return certificate(object_name(names[0]), env, names, settings["issuer"], settings["secretName"], api_version)


def errors(values: dict) -> list:
    """Problems with ``certificates`` and ``environments.<env>.certificate``, each naming the variable."""
    out = []
    certs = values.get("certificates")
    pkgs = values.get("pkgs") or {}
    if certs is not None and not isinstance(certs, list):
        return ["certificates: must be a list of {name, dnsNames, issuer, secretName}"]
    seen = set()
    for i, entry in enumerate(certs or []):
        where = f"certificates[{i}]"
        if not isinstance(entry, dict):
            out.append(f"{where}: must be a dict with name and dnsNames")
            continue
        name = entry.get("name")
        if not isinstance(name, str) or not naming.DNS_SUBDOMAIN_RE.match(name) or len(name) > naming.DNS_SUBDOMAIN_MAX:
            out.append(f"{where}.name: {name!r} must be a Kubernetes object name (lower case, digits, '-', '.')")
        elif name in seen:
            out.append(f"{where}.name: {name!r} is used twice")
        seen.add(name)
        names = entry.get("dnsNames")
        if not isinstance(names, list) or not names or not all(isinstance(n, str) and _HOST_RE.match(n) for n in names):
            out.append(f"{where}.dnsNames: must be a non-empty list of host names (a leading '*.' is allowed)")
        if entry.get("issuer") is not None and entry.get("issuer") not in ISSUERS:
            out.append(f"{where}.issuer: {entry.get('issuer')!r} must be one of {', '.join(ISSUERS)}")
        secret = entry.get("secretName")
        if secret is not None and (not isinstance(secret, str) or not naming.DNS_SUBDOMAIN_RE.match(secret)):
            out.append(f"{where}.secretName: {secret!r} must be a Secret name")
    wants_certs = bool(certs) or any(https_names(c) for c in (values.get("environments") or {}).values()
                                     if isinstance(c, dict))
    if wants_certs and not (pkgs.get("certmanager") or {}).get("enabled"):
        out.append("pkgs.certmanager.enabled: must be true for certificates (and environments with gateway.https "
                   "enabled): cert-manager issues them")
    for env, conf in (values.get("environments") or {}).items():
        if not isinstance(conf, dict):
            continue
        for host in https_names(conf):
            if not isinstance(host, str) or not _HOST_RE.match(host):
                out.append(f"environments.{env}.gateway.https.dnsNames: {host!r} is not a host name")
        cert = conf.get("certificate")
        if cert is None:
            continue
        where = f"environments.{env}.certificate"
        if not isinstance(cert, dict):
            out.append(f"{where}: must be a dict with secret and issuer")
            continue
        if cert.get("issuer") is not None and cert["issuer"] not in ISSUERS:
            out.append(f"{where}.issuer: {cert['issuer']!r} must be one of {', '.join(ISSUERS)}")
        secret = cert.get("secret")
        if secret is not None and (not isinstance(secret, str) or not naming.DNS_SUBDOMAIN_RE.match(secret)):
            out.append(f"{where}.secret: {cert['secret']!r} must be a Secret name")
    return out
