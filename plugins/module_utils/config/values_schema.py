# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""The JSON Schema of a cluster's inventory values (the keys of the install guide's ``values.yaml``, the fact
``inventory_values``), and its checker.

:data:`SCHEMA` (JSON Schema 2020-12, a plain dict shipped with the collection) says which keys exist, their types,
their name patterns and their enumerations; every object is closed (``additionalProperties: false``) except the
free-form ones (``values``, ``tags``, ``labels`` and the eksctl blocks eksctl itself validates), so a misspelt key
is an error instead of a silently ignored setting. :func:`errors` returns one message per problem, each naming the
key path (``environments.qa2.gateway.http.dnsNames[0]``) and, for an unknown key, the known key it is closest to.
:func:`unknown_variables` finds host variables that look like a misspelt top-level key (``enviroments``), which
the inventory role never collects and the schema therefore never sees.

Patterns are anchored with ``\\A...\\Z`` and written with ASCII classes (``[0-9]``, never ``\\d``), so a trailing
newline or a non-ASCII digit is refused. The rules a schema cannot say (CIDR ranges, supported versions, derived
names, duplicates across environments, node group sizes) are in :mod:`config.validation`, which runs after this.
"""
from __future__ import annotations

import difflib
import re

from ansible_collections.tidepool.eks.plugins.module_utils.common import naming
from ansible_collections.tidepool.eks.plugins.module_utils.common.errors import TidepoolError
from ansible_collections.tidepool.eks.plugins.module_utils.common.optional_import import optional_import
from ansible_collections.tidepool.eks.plugins.module_utils.config import catalogue
from ansible_collections.tidepool.eks.plugins.module_utils.config import certificates
from ansible_collections.tidepool.eks.plugins.module_utils.config import chart_mirror
from ansible_collections.tidepool.eks.plugins.module_utils.config import cluster_schema
from ansible_collections.tidepool.eks.plugins.module_utils.config import schema_types as t
from ansible_collections.tidepool.eks.plugins.module_utils.config import tidepool_chart
from ansible_collections.tidepool.eks.plugins.module_utils.config import privileged

(jsonschema,), JSONSCHEMA_IMPORT_ERROR = optional_import("jsonschema")
HAS_JSONSCHEMA = jsonschema is not None

REGION_PATTERN, ACCOUNT_PATTERN = t.REGION_PATTERN, t.ACCOUNT_PATTERN
EMAIL_PATTERN = (r"\A[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?"
                 r"(\.[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)+\Z")
IAM_USER_PATTERN = r"\A[A-Za-z0-9+=,.@_-]{1,64}\Z"
LOG_LEVELS = ("trace", "debug", "info", "warn", "warning", "error", "fatal", "panic")
#: An SES identity: an email address or a domain; no ``*`` or ``?`` (IAM reads them as wildcards in the ARN).
SES_IDENTITY_PATTERN = (r"\A([A-Za-z0-9.!#$%&'+=^_`{|}~-]+@)?[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?"
                        r"(\.[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)+\Z")
#: Keys of a peering entry the peering role passes to tidepool.eks.vpc_peering (roles/peering/tasks/main.yml).
#: ``accepter_profile`` (the peer account's credentials) only in the host's ``peering`` list, which the operator
#: keeps in ``host_vars/<host>/main.yml``, never in ``environments.<env>.peering``: :data:`HOST_PEERING`.
PEERING_KEYS = ("vpc_id", "peer_vpc_id", "peer_region", "peer_owner_id", "peer_cidr_blocks", "route_table_ids",
                "peer_route_table_ids", "allow_dns_resolution", "tags", "state")
#: Top-level keys of the inventory values (what roles/inventory collects into ``inventory_values``).
TOP_LEVEL_KEYS = ("email", "aws", "kubeconfig", "logLevel", "cluster", "pkgs", "environments", "certificates",
                  "flux_version", privileged.OPT_IN_KEY, "helm_chart_mirror")


_str, _obj, _open, _keys = t.string, t.closed, t.free, t.keys
_BOOL, _SIZE, _STR_MAP = t.BOOL, t.SIZE, t.STR_MAP
_HOST = _str("a host name (lower case letters, digits, '-', '.'; a leading '*.' for a wildcard)",
             certificates.HOST_PATTERN, max_length=253)
_HOSTS = {"type": ["array", "null"], "description": "a list of host names", "items": _HOST, "uniqueItems": True}
_SECRET_NAME = _str("a Kubernetes Secret name (lower case letters, digits, '-', '.')", naming.DNS_SUBDOMAIN_PATTERN,
                    max_length=naming.DNS_SUBDOMAIN_MAX)
_ISSUER = {"enum": list(certificates.ISSUERS), "description": "a ClusterIssuer of pkgs.certmanager"}
_ENABLED = _obj("a dict {enabled: true|false}", {"enabled": _BOOL}, nullable=True)
_CHART = _obj("a chart override: repository, name, version (Helm repository) or git, path, ref (git)",
              {k: {"type": "string", "description": "a string"}
               for k in ("repository", "name", "version", "git", "path", "ref")}, nullable=True)
_BUCKET = _str("a valid S3 bucket name (3-63 characters: lower case letters, digits, '-', '.'; no '..')",
               naming.BUCKET_NAME_PATTERN)


def _ids(what, prefix):
    return {"type": "array", "description": f"a list of {what} ids", "minItems": 1, "uniqueItems": True,
            "items": _str(f"a {what} id ({prefix}- and 8 or 17 hexadecimal digits)",
                          rf"\A{prefix}-([0-9a-f]{{8}}|[0-9a-f]{{17}})\Z")}


_VPC_ID = _ids("VPC", "vpc")["items"]
_PEERING = {
    "vpc_id": _VPC_ID, "peer_vpc_id": _VPC_ID,
    "peer_region": _str("an AWS region name such as us-west-2", REGION_PATTERN), "peer_owner_id": t.ACCOUNT,
    "peer_cidr_blocks": {"type": "array", "description": "a list of IPv4 CIDR blocks", "minItems": 1,
                         "uniqueItems": True, "items": _str("an IPv4 CIDR block such as 10.16.0.0/16",
                                                            r"\A[0-9]{1,3}(\.[0-9]{1,3}){3}/[0-9]{1,2}\Z")},
    "route_table_ids": _ids("route table", "rtb"), "peer_route_table_ids": _ids("route table", "rtb"),
    "allow_dns_resolution": _BOOL, "tags": _STR_MAP,
    "state": {"enum": ["present", "absent"], "description": "present or absent"},
}
_PEERING_WHAT = "a peering connection (peer_vpc_id and the options of tidepool.eks.vpc_peering)"
#: A peering entry of the host's ``peering`` list (``host_vars/<host>/main.yml``): the environments' keys plus
#: ``accepter_profile``, the named AWS profile of the peer account.
HOST_PEERING = {"type": ["array", "null"], "description": "a list of peering connections",
                "items": _obj(_PEERING_WHAT, {**_PEERING, "accepter_profile": _str("a named AWS profile")},
                              required=("peer_vpc_id",))}


_PACKAGE_EXTRA = {
    "amazon-cloudwatch": {"image": _str("a container image")},
    "cluster-autoscaler": {"image": _str("a container image")},
    "external-dns": {"domainFilters": {"type": "array", "description": "a list of domain names", "items": _HOST}},
    "fluxcloud": {k: _str("a string") for k in ("channel", "username", "secret", "githubUrl")},
}


def _package(pkg):
    return _obj(f"a dict {{enabled: true|false}} with optional chart and values (package {pkg})",
                {"enabled": _BOOL, "chart": _CHART, "values": _open("a dict of Helm values"),
                 **_PACKAGE_EXTRA.get(pkg, {})}, nullable=True)


_GATEWAY_PROTOCOL = _obj("a dict {enabled, dnsNames}", {"enabled": _BOOL, "dnsNames": _HOSTS}, nullable=True)

ENVIRONMENT = _obj(
    "a dict of environment settings (hpa, pdb, nosqlclient, mongodb, keycloak, gitops, buckets, gateway, "
    "certificate, clinicDemoUserId, values, chart, peering)",
    {
        "hpa": _ENABLED, "pdb": _ENABLED, "nosqlclient": _ENABLED, "mongodb": _ENABLED, "keycloak": _ENABLED,
        "gitops": _obj("a dict with branch and per-service tag filters",
                       {"branch": _str("a git branch name", r"\A[A-Za-z0-9._/-]+\Z"),
                        **{svc: _str("an image tag filter such as glob:develop-*") for svc in tidepool_chart.ALL_SERVICES}},
                       nullable=True),
        "buckets": _obj("a dict with optional data and asset bucket names and adopt",
                        {"data": {**_BUCKET, "type": ["string", "null"]}, "asset": {**_BUCKET, "type": ["string", "null"]},
                         # Existing buckets without tidepool.eks's owner tags the assets role may take over (tag).
                         "adopt": {"type": ["array", "null"], "uniqueItems": True,
                                   "description": "a list of bucket kinds to adopt (data, asset)",
                                   "items": {"enum": ["data", "asset"], "description": "data or asset"}}},
                        nullable=True),
        "gateway": _obj("a dict with default, http and https", {
            "default": _obj("a dict {protocol: http|https}",
                            {"protocol": {"enum": ["http", "https"], "description": "http or https"}}, nullable=True),
            "http": _GATEWAY_PROTOCOL, "https": _GATEWAY_PROTOCOL}, nullable=True),
        "certificate": _obj("a dict with secret and issuer", {"secret": _SECRET_NAME, "issuer": _ISSUER}, nullable=True),
        "clinicDemoUserId": _str("a string (quote it)"),
        "values": _open("a dict of Helm values merged over the tidepool chart's"),
        "chart": _CHART,
        "peering": {"type": "array", "description": "a list of peering connections",
                    "items": {**_obj(_PEERING_WHAT, _PEERING, required=("peer_vpc_id",)), "x-not-here": {
                        "accepter_profile": "the peer account's credentials are the operator's, not the inventory "
                                            "values': set accepter_profile in the host's peering list "
                                            "(host_vars/<host>/main.yml, docs/peering.md)"}}},
    },
    nullable=True)

#: The JSON Schema of ``inventory_values`` (draft 2020-12). ``x-unknown`` names what an unknown key of an object is.
SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "tidepool.eks inventory values (values.yaml keys)",
    **_obj("the inventory values", {
        "email": _str("an email address (used for Flux commits and ACME registration)", EMAIL_PATTERN, max_length=254),
        "aws": _obj("a dict with accountNumber and iamUsers", {
            "accountNumber": {"type": ["string", "integer"], "pattern": ACCOUNT_PATTERN,
                              "minimum": 100000000000, "maximum": 999999999999,
                              "description": "the 12-digit AWS account id (quote it to keep leading zeros)"},
            "iamUsers": {"type": ["array", "null"], "description": "a list of IAM user names", "uniqueItems": True,
                         "items": _str("an IAM user name (letters, digits, +=,.@_-; at most 64)", IAM_USER_PATTERN)},
            "hostedZoneIds": {"type": ["array", "null"], "uniqueItems": True,
                              "description": "the Route53 hosted zone ids cert-manager and external-dns may change",
                              "items": _str("a Route53 hosted zone id (e.g. Z0123456789ABC)",
                                            r"\A(/hostedzone/)?Z[A-Z0-9]{1,32}\Z")},
            "sesIdentity": _str("the SES identity hydrophone sends from: an email address or a domain (no * or ? "
                                "wildcards)", SES_IDENTITY_PATTERN, max_length=254),
        }, required=("accountNumber",)),
        "kubeconfig": {"type": ["string", "null"], "description": "a path"},
        "helm_chart_mirror": {**_str("a chart mirror URL: http(s)://host[:port][/path] (a Helm chart repository) or "
                                     "oci://registry[/path] (an OCI registry such as ECR), no credentials",
                                     chart_mirror.URL_PATTERN), "type": ["string", "null"]},
        "logLevel": {"enum": list(LOG_LEVELS), "description": "a log level"},
        "flux_version": {"enum": [1, 2, "1", "2"], "description": "the Flux major version, 1 or 2"},
        # not a values.yaml key: the flavour's facts the inventory role adds after validating (filter gitops_flavour),
        # so inventory_values passes the renderer's checks; never collected from the host's variables
        "gitops": {"type": "object", "description": "the GitOps flavour's facts (set by the inventory role)"},
        "cluster": cluster_schema.CLUSTER,
        "pkgs": {**_obj("a dict of package name -> {enabled: true|false}",
                        {pkg: _package(pkg) for pkg in sorted(catalogue.PKGS)}, nullable=True),
                 "x-unknown": "package"},
        "environments": {
            "type": ["object", "null"], "description": "a dict of environment name -> settings",
            "propertyNames": _str("a valid environment name; it becomes a Kubernetes namespace, so use a DNS label "
                                  "(lower-case letters, digits, hyphens; starts and ends alphanumeric; at most 63)",
                                  naming.DNS_LABEL_PATTERN, max_length=naming.DNS_LABEL_MAX),
            "additionalProperties": ENVIRONMENT,
        },
        privileged.OPT_IN_KEY: {
            "type": ["array", "null"], "uniqueItems": True,
            "description": "a list of the privileged cluster settings the inventory opts in to (docs/eks.md)",
            "items": {"enum": list(privileged.SETTINGS), "description": "a privileged setting"}},
        "certificates": {"type": ["array", "null"], "description": "a list of {name, dnsNames, issuer, secretName}",
                         "items": _obj("a dict with name and dnsNames (issuer, secretName optional)", {
                             "name": _str("a Kubernetes object name (lower case, digits, '-', '.')",
                                          naming.DNS_SUBDOMAIN_PATTERN, max_length=naming.DNS_SUBDOMAIN_MAX),
                             "dnsNames": {**_HOSTS, "type": "array", "minItems": 1},
                             "issuer": _ISSUER, "secretName": _SECRET_NAME}, required=("name", "dnsNames"))},
    }, required=("email", "aws", "cluster")),
}

_TYPE_NAMES = {"object": "a dict", "array": "a list", "string": "a string", "integer": "an integer",
               "number": "a number", "boolean": "true or false", "null": "empty"}


_PLAIN_KEY = re.compile(r"\A[A-Za-z0-9_-]+\Z", re.ASCII)


class SchemaUnavailable(TidepoolError):
    """The ``jsonschema`` library is missing on the controller."""


def _join(path: str, key) -> str:
    """``path.key``; ``path[i]`` for a list index; ``path['odd key']`` for a key that is not a plain name."""
    if isinstance(key, int) and not isinstance(key, bool):
        return f"{path}[{key}]"
    if not _PLAIN_KEY.match(str(key)):
        return f"{path}[{str(key)!r}]"
    return f"{path}.{key}" if path else str(key)


def _path(parts) -> str:
    out = ""
    for part in parts:
        out = _join(out, part)
    return out


def _kind(value) -> str:
    if isinstance(value, bool):
        return "a boolean"
    for name, types in (("a dict", dict), ("a list", list), ("a string", str), ("a number", (int, float))):
        if isinstance(value, types):
            return name
    return "empty" if value is None else type(value).__name__


def _suggest(key, known, noun="key") -> str:
    close = difflib.get_close_matches(str(key), [str(k) for k in known], n=1)
    return f"; did you mean {close[0]}?" if close else f"; known {noun}s are {', '.join(sorted(known))}"


def _messages(error) -> list[tuple[str, str]]:
    """``[(key path, message)]`` for one jsonschema ValidationError."""
    path, schema, value, kind = _path(error.absolute_path), error.schema, error.instance, error.validator
    what = schema.get("description", "")
    if "propertyNames" in error.relative_schema_path:    # an invalid key: ``value`` is the key itself
        where = _join(path, value)
        return [(where, f"{where}: {value!r} is not {what}")]
    if kind == "additionalProperties":
        known = list(schema.get("properties", {}))
        unknown = [k for k in value if k not in schema.get("properties", {})]
        noun, elsewhere = schema.get("x-unknown", "key"), schema.get("x-not-here", {})
        return [(_join(path, k), f"{_join(path, k)}: " + (f"not allowed here: {elsewhere[k]}" if k in elsewhere else
                                                          f"unknown {noun}{_suggest(k, known, noun)}"))
                for k in unknown]
    if kind == "required":   # a required key written wrong is one problem: the unknown key names it
        typos = [k for k in value if k not in schema.get("properties", {})]
        missing = [k for k in error.validator_value if k not in value and not difflib.get_close_matches(k, typos, n=1)]
        return [(_join(path, k), f"{_join(path, k)}: required, "
                 f"{schema.get('properties', {}).get(k, {}).get('description', 'a value')}") for k in missing]
    where = path or "(top level)"
    if kind == "type":
        return [(where, f"{where}: must be {what or _TYPE_NAMES.get(error.validator_value, error.validator_value)}, "
                        f"not {_kind(value)}")]
    if kind == "enum":
        choices = ", ".join(dict.fromkeys(str(c) for c in error.validator_value))
        return [(where, f"{where}: {value!r} must be one of {choices}")]
    if kind == "uniqueItems":
        seen, dups = [], []
        for item in value:
            (dups if item in seen else seen).append(item)
        return [(where, f"{where}: {dups[0]!r} is listed twice")]
    if kind == "minItems":
        return [(where, f"{where}: must list at least {error.validator_value} entry, {what}")]
    if kind in ("minimum", "maximum"):
        return [(where, f"{where}: {value!r} is not {what}")]
    return [(where, f"{where}: {value!r} is not {what}" if what else f"{where}: {error.message}")]


def errors(values: dict, schema: dict | None = None) -> list[str]:
    """Problems of ``values`` against ``schema`` (default :data:`SCHEMA`): one message per problem (the first found
    at a key path), each starting with the key path. Raises :class:`SchemaUnavailable` when ``jsonschema`` is not
    installed."""
    if not HAS_JSONSCHEMA:
        raise SchemaUnavailable("the Python library jsonschema is required to validate the inventory "
                                f"(pip install jsonschema): {JSONSCHEMA_IMPORT_ERROR}")
    found = {}
    for error in jsonschema.Draft202012Validator(schema or SCHEMA).iter_errors(values):
        for where, message in _messages(error):
            found.setdefault(where, message)
    # a problem inside a value already at fault (an environment whose name is refused) is not a second problem
    return [m for w, m in found.items()
            if not any(w != o and (w.startswith(o + ".") or w.startswith(o + "[")) for o in found)]


def unknown_variables(names) -> list[str]:
    """Host variables whose names look like a misspelt top-level key (``enviroments`` for ``environments``,
    ``loglevel`` for ``logLevel``): an error for each, naming the key meant. ``names``: the host's variable names
    (they mix values.yaml keys with every other variable, so only near misses are errors)."""
    out = []
    lowered = {k.lower(): k for k in TOP_LEVEL_KEYS}
    for name in sorted({str(n) for n in names or ()}):
        if name in TOP_LEVEL_KEYS or name.startswith("ansible_"):
            continue
        close = [lowered[name.lower()]] if name.lower() in lowered else \
            difflib.get_close_matches(name, TOP_LEVEL_KEYS, n=1, cutoff=0.85)
        if close:
            out.append(f"{name}: unknown inventory key; did you mean {close[0]}?")
    return out
