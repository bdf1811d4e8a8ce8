# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Validation of a cluster's inventory values (the keys of the install guide's ``values.yaml``).

:func:`validate` covers what ``meta/argument_specs.yml`` cannot express; the renderer (:mod:`config.tree`) assumes
values it accepted. Naming rules shared with other cores (cluster names, DNS labels, bucket names) come from
:mod:`common.naming`; certificate settings are checked by :func:`config.certificates.errors`.
"""
from __future__ import annotations

import ipaddress
import re

from ansible_collections.tidepool.eks.plugins.module_utils.config import catalogue
from ansible_collections.tidepool.eks.plugins.module_utils.config import certificates
from ansible_collections.tidepool.eks.plugins.module_utils.common import naming
from ansible_collections.tidepool.eks.plugins.module_utils.gitops import registry

REGION_RE = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d+$")
ACCOUNT_RE = re.compile(r"^\d{12}$")
NODEGROUP_RE = re.compile(r"^[a-zA-Z][-a-zA-Z0-9]*$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
IAM_USER_RE = re.compile(r"^[\w+=,.@-]{1,64}$")
HELM_RELEASE_MAX = 53


def validate(values: dict) -> list[str]:
    """Return the list of problems with ``values`` (empty when valid).

    Each message names the inventory variable at fault (dotted path, e.g. ``cluster.vpc.cidr``) and
    says what is expected. Covers what ``meta/argument_specs.yml`` cannot express: eksctl's cluster-name
    rule, CIDR syntax and range, DNS-label environment names, unknown ``pkgs`` names, node group sizes,
    bucket names and gateway settings.
    """
    errors: list[str] = []
    err = errors.append

    cluster = values.get("cluster")
    if not isinstance(cluster, dict):
        return ["cluster: required, a dict with metadata (name, region), vpc (cidr) and nodeGroups"]
    meta = cluster.get("metadata")
    if not isinstance(meta, dict):
        return ["cluster.metadata: required, a dict with name and region"]

    name = meta.get("name")
    if not isinstance(name, str) or not naming.CLUSTER_NAME_RE.match(name) or len(name) > naming.CLUSTER_NAME_MAX:
        err(f"cluster.metadata.name: {name!r} is not a valid EKS cluster name (eksctl rule: a letter, then "
            f"letters, digits or hyphens; at most {naming.CLUSTER_NAME_MAX} characters)")
    region = meta.get("region")
    if not isinstance(region, str) or not REGION_RE.match(region):
        err(f"cluster.metadata.region: {region!r} is not an AWS region name such as us-west-2")
    version = meta.get("version")
    if version is not None and str(version) not in catalogue.SUPPORTED_KUBERNETES_VERSIONS:
        err(f"cluster.metadata.version: {version!r} is not a Kubernetes version EKS supports; use one of "
            f"{', '.join(catalogue.SUPPORTED_KUBERNETES_VERSIONS)} (quote it: \"1.34\")")

    vpc = cluster.get("vpc") or {}
    if not isinstance(vpc, dict):
        err("cluster.vpc: must be a dict such as {cidr: 10.47.0.0/16}")
    elif vpc.get("cidr") is not None:
        cidr = vpc.get("cidr")
        try:
            net = ipaddress.ip_network(str(cidr), strict=True)
        except ValueError as exc:
            err(f"cluster.vpc.cidr: {cidr!r} is not a valid CIDR block ({exc})")
        else:
            if net.version != 4:
                err(f"cluster.vpc.cidr: {cidr!r} must be an IPv4 CIDR block")
            elif not 16 <= net.prefixlen <= 24:
                err(f"cluster.vpc.cidr: {cidr!r} must have a prefix between /16 and /24 "
                    "(eksctl carves public and private subnets in several zones out of it)")
            elif not (net.is_private and not net.is_loopback and not net.is_link_local):
                err(f"cluster.vpc.cidr: {cidr!r} must be a private range (RFC 1918 or 100.64.0.0/10)")

    node_groups = cluster.get("nodeGroups", [])
    if not isinstance(node_groups, list):
        err("cluster.nodeGroups: must be a list of node groups")
        node_groups = []
    seen = set()
    for i, ng in enumerate(node_groups):
        where = f"cluster.nodeGroups[{i}]"
        if not isinstance(ng, dict):
            err(f"{where}: must be a dict with name, instanceType, desiredCapacity, minSize, maxSize")
            continue
        ng_name = ng.get("name")
        if not isinstance(ng_name, str) or not NODEGROUP_RE.match(ng_name):
            err(f"{where}.name: {ng_name!r} is not a valid node group name (a letter, then letters, digits, hyphens)")
        elif ng_name in seen:
            err(f"{where}.name: node group {ng_name!r} is listed twice")
        seen.add(ng_name)
        sizes = {}
        for key in ("minSize", "desiredCapacity", "maxSize"):
            if key in ng:
                if not isinstance(ng[key], int) or isinstance(ng[key], bool) or ng[key] < 0:
                    err(f"{where}.{key}: {ng[key]!r} must be a non-negative integer")
                else:
                    sizes[key] = ng[key]
        if len(sizes) == 3 and not sizes["minSize"] <= sizes["desiredCapacity"] <= sizes["maxSize"]:
            err(f"{where}: sizes must satisfy minSize <= desiredCapacity <= maxSize "
                f"(got {sizes['minSize']} <= {sizes['desiredCapacity']} <= {sizes['maxSize']})")

    aws = values.get("aws") or {}
    account = str(aws.get("accountNumber", "")) if isinstance(aws, dict) else ""
    if not ACCOUNT_RE.match(account):
        err(f"aws.accountNumber: {account!r} must be the 12-digit AWS account id (quote it to keep leading zeros)")
    users = aws.get("iamUsers", []) if isinstance(aws, dict) else []
    if not isinstance(users, list) or not all(isinstance(u, str) and IAM_USER_RE.match(u) for u in users):
        err("aws.iamUsers: must be a list of IAM user names")

    email = values.get("email")
    if not isinstance(email, str) or not EMAIL_RE.match(email):
        err(f"email: {email!r} is not an email address (used for Flux commits and ACME registration)")

    pkgs = values.get("pkgs") or {}
    if not isinstance(pkgs, dict):
        err("pkgs: must be a dict of package name -> {enabled: true|false}")
        pkgs = {}
    for pkg, conf in pkgs.items():
        if pkg not in catalogue.PKGS:
            err(f"pkgs.{pkg}: unknown package; known packages are {', '.join(sorted(catalogue.PKGS))}")
        elif not isinstance(conf, dict) or not isinstance(conf.get("enabled", False), bool):
            err(f"pkgs.{pkg}.enabled: must be true or false")

    envs = values.get("environments") or {}
    if not isinstance(envs, dict):
        err("environments: must be a dict of environment name -> settings")
        envs = {}
    for env, conf in envs.items():
        where = f"environments.{env}"
        if not isinstance(env, str) or not naming.DNS_LABEL_RE.match(env) or len(env) > naming.DNS_LABEL_MAX:
            err(f"{where}: {env!r} is not a valid environment name; it becomes a Kubernetes namespace, so use a "
                "DNS label (lower-case letters, digits, hyphens; starts and ends alphanumeric; at most 63)")
            continue
        if len(naming.environment_release_name(env)) > HELM_RELEASE_MAX:
            err(f"{where}: name too long; the Helm release {naming.environment_release_name(env)!r} exceeds "
                f"{HELM_RELEASE_MAX} characters")
        if env in catalogue.RESERVED_NAMESPACES:
            err(f"{where}: {env!r} is a namespace of Kubernetes or of a shared service; choose another name")
        if conf is None:
            conf = {}
        if not isinstance(conf, dict):
            err(f"{where}: must be a dict of settings (hpa, nosqlclient, mongodb, gitops, buckets, gateway)")
            continue
        for flag in ("hpa", "nosqlclient", "mongodb"):
            sub = conf.get(flag)
            if sub is not None and (not isinstance(sub, dict) or not isinstance(sub.get("enabled", False), bool)):
                err(f"{where}.{flag}.enabled: must be true or false")
        buckets = conf.get("buckets") or {}
        if not isinstance(buckets, dict):
            err(f"{where}.buckets: must be a dict with optional data and asset bucket names")
        else:
            for kind in ("data", "asset"):
                b = buckets.get(kind)
                if b and (not isinstance(b, str) or not naming.BUCKET_NAME_RE.match(b) or ".." in b):
                    err(f"{where}.buckets.{kind}: {b!r} is not a valid S3 bucket name")
        gateway = conf.get("gateway") or {}
        if gateway:
            protocol = (gateway.get("default") or {}).get("protocol", "http")
            if protocol not in ("http", "https"):
                err(f"{where}.gateway.default.protocol: {protocol!r} must be http or https")
            else:
                chosen = gateway.get(protocol) or {}
                if not chosen.get("enabled") or not chosen.get("dnsNames"):
                    err(f"{where}.gateway.{protocol}: the default protocol must be enabled with at least one "
                        "entry in dnsNames (its first name is the host used in signup emails)")
            for proto in ("http", "https"):
                names = (gateway.get(proto) or {}).get("dnsNames") or []
                if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
                    err(f"{where}.gateway.{proto}.dnsNames: must be a list of host names")
        demo = conf.get("clinicDemoUserId")
        if demo is not None and not isinstance(demo, str):
            err(f"{where}.clinicDemoUserId: must be a string (quote it)")
    errors.extend(certificates.errors(values))
    errors.extend(flavour_errors(values))
    return errors


def flavour_errors(values: dict) -> list[str]:
    """Problems with ``flux_version`` (1 or 2, absent means 1) and, for the flavour it names, each inventory option
    set that the flavour has no equivalent for (``Flavour.UNSUPPORTED_OPTIONS``), by name."""
    version = values.get("flux_version")
    if version is None:
        return []
    if isinstance(version, bool) or str(version).strip() not in ("1", "2"):
        return [f"flux_version: {version!r} must be 1 (Flux v1, the install guide's stack) or 2 (Flux v2, the "
                "External Secrets Operator and cert-manager 1.x)"]
    flavour = registry.flavour(int(version))
    out = []
    for key, why in flavour.UNSUPPORTED_OPTIONS.items():
        node = values
        for part in key.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if node is not None:
            out.append(f"{key}: has no flux_version {flavour.VERSION} equivalent: {why}")
    return out
