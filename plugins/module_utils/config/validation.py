# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Validation of a cluster's inventory values (the keys of the install guide's ``values.yaml``).

:func:`validate` checks the values against the JSON Schema of :mod:`config.values_schema` first (keys, types,
name patterns: one message per problem, unknown keys with "did you mean"); only values the schema accepts reach
the rules below, which a schema cannot say: CIDR ranges, supported Kubernetes versions, node group sizes and
names, the names derived from the inventory (buckets, Helm releases, label values) and duplicates across
environments. The renderer (:mod:`config.tree`) assumes values it accepted. Naming rules shared with other cores
come from :mod:`common.naming`; certificate settings are checked by :func:`config.certificates.errors`.
"""
from __future__ import annotations

import ipaddress

from ansible_collections.tidepool.eks.plugins.module_utils.config import catalogue
from ansible_collections.tidepool.eks.plugins.module_utils.config import certificates
from ansible_collections.tidepool.eks.plugins.module_utils.config import chart_mirror
from ansible_collections.tidepool.eks.plugins.module_utils.config import inventory
from ansible_collections.tidepool.eks.plugins.module_utils.config import privileged
from ansible_collections.tidepool.eks.plugins.module_utils.config import tidepool_chart
from ansible_collections.tidepool.eks.plugins.module_utils.config import values_schema
from ansible_collections.tidepool.eks.plugins.module_utils.common import naming

HELM_RELEASE_MAX = 53
LABEL_VALUE_MAX = 63
#: The host every environment without a gateway serves (config.environments); shared by design.
SHARED_HOSTS = ("localhost",)


def validate(values: dict, variables=None, flavour_of=None) -> list[str]:
    """Return the list of problems with ``values`` (empty when valid).

    Each message starts with the inventory key at fault (dotted path, e.g. ``cluster.vpc.cidr``) and says what is
    expected; one message per problem. ``variables``: the names of the host's variables, checked for misspelt
    top-level keys (:func:`values_schema.unknown_variables`). ``flavour_of``: ``values -> GitOps flavour``
    (:func:`gitops.registry.for_values`), called once the schema accepted ``values``, whose options without an
    equivalent are reported (:func:`flavour_errors`); None leaves them unchecked. Raises
    :class:`values_schema.SchemaUnavailable` when the ``jsonschema`` library is missing.
    """
    errors = values_schema.unknown_variables(variables) + values_schema.errors(values)
    if errors:
        return errors
    err = errors.append
    cluster, meta = values["cluster"], values["cluster"]["metadata"]
    name = meta["name"]
    if len(name) > LABEL_VALUE_MAX or name.endswith("-"):
        err(f"cluster.metadata.name: {name!r} must also be a Kubernetes label value (the label "
            f"tidepool.org/cluster of every object applied): at most {LABEL_VALUE_MAX} characters, ending in a "
            "letter or digit")
    version = meta.get("version")
    if version is not None and str(version) not in catalogue.SUPPORTED_KUBERNETES_VERSIONS:
        err(f"cluster.metadata.version: {version!r} is not a Kubernetes version EKS supports; use one of "
            f"{', '.join(catalogue.SUPPORTED_KUBERNETES_VERSIONS)} (quote it: \"1.34\")")
    _check_cidr((cluster.get("vpc") or {}).get("cidr"), err)
    for env, conf in (values.get("environments") or {}).items():
        _check_peering((conf or {}).get("peering"), f"environments.{env}.peering", err)
    _check_node_groups(cluster, err)
    _check_environments(values, err)
    errors.extend(privileged.errors(values))
    errors.extend(certificates.errors(values))
    if flavour_of is not None:
        flavour = flavour_of(values)
        errors.extend(flavour_errors(values, flavour))
        errors.extend(chart_mirror_errors(values, flavour))
    return errors


def _check_cidr(cidr, err) -> None:
    if cidr is None:
        return
    try:
        net = ipaddress.ip_network(str(cidr), strict=True)
    except ValueError as exc:
        err(f"cluster.vpc.cidr: {cidr!r} is not a valid CIDR block ({exc})")
        return
    if net.version != 4:
        err(f"cluster.vpc.cidr: {cidr!r} must be an IPv4 CIDR block")
    elif not 16 <= net.prefixlen <= 24:
        err(f"cluster.vpc.cidr: {cidr!r} must have a prefix between /16 and /24 "
            "(eksctl carves public and private subnets in several zones out of it)")
    elif not (net.is_private and not net.is_loopback and not net.is_link_local):
        err(f"cluster.vpc.cidr: {cidr!r} must be a private range (RFC 1918 or 100.64.0.0/10)")


def _check_peering(entries, where: str, err) -> None:
    """Each ``peer_cidr_blocks`` entry an IPv4 network (no host bits set)."""
    for i, entry in enumerate(entries or []):
        for j, cidr in enumerate((entry or {}).get("peer_cidr_blocks") or []):
            try:
                ipaddress.IPv4Network(str(cidr), strict=True)
            except ValueError as exc:
                err(f"{where}[{i}].peer_cidr_blocks[{j}]: {cidr!r} is not an IPv4 CIDR block ({exc})")


def peering_errors(entries, where: str = "peering") -> list[str]:
    """Problems of the host's ``peering`` list (``host_vars/<host>/main.yml``, read by the peering role), one message
    per problem starting with ``where`` and the key path: the entries of
    :data:`values_schema.HOST_PEERING` (types, id formats, regions, account numbers, CIDRs)."""
    out = values_schema.errors({where: entries},
                               {"type": "object", "properties": {where: values_schema.HOST_PEERING}})
    if not out:
        _check_peering(entries, where, out.append)
    return out


def _check_node_groups(cluster: dict, err) -> None:
    """Names unique across nodeGroups and managedNodeGroups (eksctl's rule); minSize <= desiredCapacity <= maxSize
    among the sizes given."""
    seen = {}
    for key in ("nodeGroups", "managedNodeGroups"):
        for i, ng in enumerate(cluster.get(key) or []):
            where = f"cluster.{key}[{i}]"
            if ng["name"] in seen:
                err(f"{where}.name: node group {ng['name']!r} is listed twice (also {seen[ng['name']]})")
            seen.setdefault(ng["name"], where)
            sizes = [(k, ng[k]) for k in ("minSize", "desiredCapacity", "maxSize") if ng.get(k) is not None]
            if any(a[1] > b[1] for a, b in zip(sizes, sizes[1:])) or (len(sizes) == 3 and sizes[0][1] > sizes[2][1]):
                err(f"{where}: sizes must satisfy minSize <= desiredCapacity <= maxSize (got "
                    + ", ".join(f"{k}={v}" for k, v in sizes) + ")")


def _check_environments(values: dict, err) -> None:
    """Reserved namespaces, derived names (Helm release, default buckets), buckets shared by two environments (or
    by data and asset), the default protocol's gateway, a host name served by two environments."""
    cluster = values["cluster"]["metadata"]["name"]
    buckets, hosts = {}, {}
    for env, conf in (values.get("environments") or {}).items():
        where, conf = f"environments.{env}", conf or {}
        release = naming.environment_release_name(env)
        if len(release) > HELM_RELEASE_MAX:
            err(f"{where}: name too long; the Helm release {release!r} exceeds {HELM_RELEASE_MAX} characters")
            continue
        owner = catalogue.reserved_namespace(env)
        if owner:
            err(f"{where}: {env!r} is reserved, {owner}; each environment gets a namespace of its own: choose "
                "another name")
            continue
        overrides = conf.get("buckets") or {}
        names = naming.bucket_names(cluster, env, overrides)
        bad = [k for k, b in names.items() if not overrides.get(k) and not naming.BUCKET_NAME_RE.match(b)]
        if bad:
            err(f"{where}.buckets: the default bucket name(s) {', '.join(repr(names[k]) for k in bad)} "
                "(tidepool-<cluster>-<env>-<data|asset>) are not valid S3 bucket names (at most 63 characters, lower "
                f"case); set {' and '.join(f'{where}.buckets.{k}' for k in bad)}")
        for kind, bucket in names.items():
            at = f"{where}.buckets.{kind}"
            if kind in bad:
                continue
            if bucket in buckets:
                err(f"{at}: bucket {bucket!r} is also {buckets[bucket]}; each environment needs its own data and "
                    "asset buckets")
            buckets.setdefault(bucket, at)
        gateway = conf.get("gateway") or {}
        if gateway:
            protocol = (gateway.get("default") or {}).get("protocol", "http")
            chosen = gateway.get(protocol) or {}
            if not chosen.get("enabled") or not chosen.get("dnsNames"):
                err(f"{where}.gateway.{protocol}: the default protocol must be enabled with at least one "
                    "entry in dnsNames (its first name is the host used in signup emails)")
        for proto in ("http", "https"):
            for host in (gateway.get(proto) or {}).get("dnsNames") or []:
                if host in SHARED_HOSTS:
                    continue
                owner = hosts.setdefault(host, (env, f"{where}.gateway.{proto}.dnsNames"))
                if owner[0] != env:
                    err(f"{where}.gateway.{proto}.dnsNames: {host!r} is also served by {owner[1]}; a host name "
                        "belongs to one environment")


def flavour_errors(values: dict, flavour) -> list[str]:
    """Each inventory option set that ``flavour`` (:class:`gitops.flavour.Flavour`, the one of ``values``'
    ``flux_version``) has no equivalent for (``Flavour.UNSUPPORTED_OPTIONS``), and each enabled package it cannot
    install (``Flavour.UNSUPPORTED_PACKAGES``), by name."""
    out = []
    enabled = set(inventory.enabled_pkgs(values))
    for pkg, why in sorted(flavour.UNSUPPORTED_PACKAGES.items()):
        if pkg in enabled:
            out.append(f"pkgs.{pkg}: has no flux_version {flavour.VERSION} equivalent: {why}")
    for key, why in flavour.UNSUPPORTED_OPTIONS.items():
        node = values
        for part in key.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if node is not None:
            out.append(f"{key}: has no flux_version {flavour.VERSION} equivalent: {why}")
    return out


def chart_mirror_errors(values: dict, flavour) -> list[str]:
    """With ``helm_chart_mirror`` set: each chart of the render the mirror cannot serve (a git chart without a version:
    :func:`config.chart_mirror.mirrored`), and an OCI mirror for a flavour whose operator cannot pull from one
    (``Flavour.OCI_CHARTS``). Empty without a mirror."""
    mirror = values.get("helm_chart_mirror")
    if not mirror:
        return []
    out = []
    if chart_mirror.is_oci(mirror) and not flavour.OCI_CHARTS:
        out.append(f"helm_chart_mirror: {flavour.NAME} (flux_version {flavour.VERSION}) cannot install charts from an "
                   "OCI registry; use an HTTP chart repository (http(s)://...) or flux_version 2")
    pkgs = values.get("pkgs") or {}
    for pkg in sorted(inventory.enabled_pkgs(values)):
        if pkg not in flavour.CHARTS:
            continue
        chart = inventory.deep_merge(flavour.chart(pkg), (pkgs.get(pkg) or {}).get("chart") or {})
        try:
            chart_mirror.mirrored(chart, mirror, f"pkgs.{pkg}.chart")
        except ValueError as exc:
            out.append(str(exc))
    for env, conf in (values.get("environments") or {}).items():
        chart = tidepool_chart.merge_source(flavour.TIDEPOOL_CHART, (conf or {}).get("chart"))
        try:
            chart_mirror.mirrored(chart, mirror, f"environments.{env}.chart")
        except ValueError as exc:
            out.append(str(exc))
    return out
