# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Route53 scope of cert-manager and external-dns: which DNS names the inventory serves, which hosted zones hold
them, and the IAM policy limited to those zones.

* :func:`dns_names`: the inventory's DNS names - ``dnsNames`` of every enabled ``gateway.http`` / ``gateway.https``
  of the environments, then of the shared ``certificates`` - in order, without repeats.
* :func:`domain_filters`: external-dns's ``domainFilters`` (``pkgs.external-dns.domainFilters`` when set, else the
  DNS names without a leading ``*.``): external-dns manages records under those names only.
* :func:`zone_ids`: ``aws.hostedZoneIds`` as bare ids (``Z...``).
* :func:`resolve`: the public hosted zones of the account holding each DNS name (the longest zone name the DNS
  name ends with), from Route53 ``ListHostedZones`` (``amazon.aws.route53_info``), or one error naming the DNS
  names no zone holds.
* :func:`policy`: the IAM policy of both service accounts: record changes only in the zones (``aws.hostedZoneIds``
  or the zones :func:`resolve` found); every zone of the account only in the offline rendering of an inventory
  that names no zone (the config step makes no AWS call: the cluster step, which creates the IAM roles, looks the
  zones up and refuses the run when a DNS name has none).
"""
from __future__ import annotations

#: The packages whose IRSA roles change Route53 records (:func:`policy`).
DNS_PACKAGES = ("certmanager", "external-dns")


def dns_names(values: dict) -> list:
    """The DNS names of enabled gateways (``environments.<env>.gateway.http|https.dnsNames``) and of the shared
    ``certificates``, lower case, in order, each once."""
    out = []
    for conf in (values.get("environments") or {}).values():
        for proto in ("http", "https"):
            gw = ((conf or {}).get("gateway") or {}).get(proto) or {}
            if gw.get("enabled"):
                out += [str(h).lower() for h in gw.get("dnsNames") or []]
    for cert in values.get("certificates") or []:
        out += [str(h).lower() for h in (cert or {}).get("dnsNames") or []]
    return list(dict.fromkeys(out))


def _bare(name: str) -> str:
    name = name.rstrip(".").lower()
    return name[2:] if name.startswith("*.") else name


def domain_filters(values: dict) -> list:
    """external-dns's ``domainFilters``: ``pkgs.external-dns.domainFilters`` when the inventory sets it, else the
    :func:`dns_names` without a leading ``*.`` (each once)."""
    given = ((values.get("pkgs") or {}).get("external-dns") or {}).get("domainFilters")
    if given:
        return list(given)
    return list(dict.fromkeys(_bare(n) for n in dns_names(values)))


def needs_lookup(values: dict) -> bool:
    """Whether the cluster step must look the zones up: cert-manager or external-dns enabled and no
    ``aws.hostedZoneIds``."""
    pkgs = values.get("pkgs") or {}
    enabled = any(isinstance(pkgs.get(p), dict) and pkgs[p].get("enabled") for p in DNS_PACKAGES)
    return enabled and not zone_ids(values)


def zone_ids(values: dict) -> list:
    """``aws.hostedZoneIds`` as bare ids (``/hostedzone/Z1`` -> ``Z1``), in order."""
    return [str(z).rsplit("/", 1)[-1] for z in ((values.get("aws") or {}).get("hostedZoneIds") or [])]


def _zone_fields(zone: dict) -> tuple:
    """``(id, name, private)`` of a zone as boto3 (``Id``, ``Name``, ``Config.PrivateZone``) or
    ``amazon.aws.route53_info`` (``id``, ``name``, ``config.private_zone``) returns it."""
    config = zone.get("Config") or zone.get("config") or {}
    private = config.get("PrivateZone", config.get("private_zone", False))
    return (str(zone.get("Id") or zone.get("id") or "").rsplit("/", 1)[-1],
            str(zone.get("Name") or zone.get("name") or "").rstrip(".").lower(), bool(private))


def resolve(names: list, zones: list) -> dict:
    """The public zones of ``zones`` (Route53 ``HostedZones``) holding each of ``names``: the zone whose name is the
    longest suffix of the DNS name (``qa1.example.org`` -> zone ``example.org``).

    Returns ``{"ids": [zone ids, in the order of names, each once], "zones": {dns name: zone name},
    "missing": [names no public zone holds]}``. Two public zones of the same name (a split delegation) both count.
    """
    public = [z for z in (_zone_fields(z) for z in zones or []) if z[0] and z[1] and not z[2]]
    ids, found, missing = [], {}, []
    for name in names:
        bare = _bare(name)
        holders = [z for z in public if bare == z[1] or bare.endswith("." + z[1])]
        if not holders:
            missing.append(name)
            continue
        best = max(len(z[1]) for z in holders)
        for zid, zname, _p in holders:
            if len(zname) == best and zid not in ids:
                ids.append(zid)
            if len(zname) == best:
                found[name] = zname
    return {"ids": ids, "zones": found, "missing": missing}


def resolve_error(values: dict, zones: list) -> str | None:
    """One sentence naming the DNS names of the inventory no public hosted zone of the account holds, or saying the
    inventory names none (None when every name has a zone, or when ``aws.hostedZoneIds`` names the zones)."""
    if zone_ids(values):
        return None
    names = dns_names(values)
    if not names:
        return ("Route53: the inventory names no DNS name (environments.<env>.gateway.*.dnsNames, "
                "certificates[].dnsNames) and no aws.hostedZoneIds, so the hosted zones cert-manager and external-dns "
                "may change cannot be found: name the zones in aws.hostedZoneIds")
    missing = resolve(names, zones)["missing"]
    if not missing:
        return None
    return (f"Route53: no public hosted zone of the account holds {', '.join(missing)} (the inventory's DNS names, "
            f"environments.<env>.gateway.*.dnsNames and certificates[].dnsNames); cert-manager and external-dns are "
            f"only given the zones of these names: create the zone, or name the zones in aws.hostedZoneIds")


#: The record-change resource of the offline rendering (:func:`policy` without zones).
ALL_ZONES = "arn:aws:route53:::hostedzone/*"


def scope_cluster_config(config: dict, values: dict, zones: list | None) -> dict:
    """The rendered ClusterConfig ``config`` with every IRSA statement on :data:`ALL_ZONES` narrowed to the zones of
    the inventory's DNS names found in ``zones`` (:func:`resolve`). ``config`` itself when the inventory names its
    zones (``aws.hostedZoneIds``) or ``zones`` is None (not looked up). A copy; ``config`` is not changed.

    Raises ValueError (:func:`resolve_error`'s sentence) when a DNS name has no zone: never the whole account."""
    if zones is None or zone_ids(values):
        return config
    error = resolve_error(values, zones)
    if error:
        raise ValueError(error)
    arns = [f"arn:aws:route53:::hostedzone/{z}" for z in resolve(dns_names(values), zones)["ids"]]
    accounts = []
    for entry in (config.get("iam") or {}).get("serviceAccounts") or []:
        policy = entry.get("attachPolicy") or {}
        statements = [dict(st, Resource=arns) if st.get("Resource") == ALL_ZONES else st
                      for st in policy.get("Statement") or []]
        accounts.append({**entry, "attachPolicy": {**policy, "Statement": statements}} if policy else entry)
    return {**config, "iam": {**config["iam"], "serviceAccounts": accounts}} if accounts else config


def policy(values: dict) -> dict:
    """cert-manager's and external-dns's IAM policy: record changes (and reads) in the zones ``aws.hostedZoneIds``
    names; ``GetChange`` and the zone listings everywhere (Route53 has no narrower resource for them). An inventory
    that names no zone is the offline rendering: every zone of the account (``hostedzone/*``); the cluster step
    replaces it by the zones of the inventory's DNS names (:func:`scope_cluster_config`) before it creates the roles."""
    ids = zone_ids(values)
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["route53:ChangeResourceRecordSets", "route53:ListResourceRecordSets"],
         "Resource": [f"arn:aws:route53:::hostedzone/{z}" for z in ids] or ALL_ZONES},
        {"Effect": "Allow", "Action": ["route53:GetChange"], "Resource": "arn:aws:route53:::change/*"},
        {"Effect": "Allow", "Action": ["route53:ListHostedZones", "route53:ListHostedZonesByName"], "Resource": "*"},
    ]}
