# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""The secrets catalogue of tidepool.eks: which Kubernetes Secrets a Tidepool cluster needs.

An environment's secrets are the secrets contract of the Tidepool chart it installs
(:data:`config.tidepool_chart.SECRETS`: chart 0.1.7's for flavour 1, research ``tidepool-tools.md`` section 7.1;
chart 0.26.0's for flavour 2, read from the chart), the cluster's are the enabled packages' vendor placeholders.
The ``secrets`` role reads it through the ``tidepool.eks.secrets_catalogue`` filter; the values are generated here,
in Python (``secrets.choice`` over ``[A-Za-z0-9]``, 40 characters, as Helm's ``randAlphaNum 40``),
and stored create-only, so a rerun never rotates them.

Kinds of entries:

* ``random`` keys: a fresh 40-character value (each key and each secret independent);
* fixed defaults (the ``mongo`` secret pointing at the in-cluster MongoDB, empty salts);
* ``vendor`` secrets: third-party credentials (dexcom, kissmetrics, marketo, oura, datadog,
  slack, sumologic...) that only an operator can provide; the catalogue creates empty placeholders
  so the pods start, and ``secrets_vendor`` / ``secrets_files`` replace them.
"""
from __future__ import annotations

import secrets as _secrets
import string

from ansible_collections.tidepool.eks.plugins.module_utils.config import catalogue as package_catalogue
from ansible_collections.tidepool.eks.plugins.module_utils.config import tidepool_chart

RANDOM = object()  # marker: generate a value
RANDOM_LENGTH = 40
ALPHABET = string.ascii_letters + string.digits


def _random_keys(*keys):
    return {k: RANDOM for k in keys}


#: Cluster-level vendor placeholders, created when their package is enabled (``pkgs.<pkg>.enabled``):
#: ``(namespace, name) -> {"pkg": ..., "keys": {...}}``. Kept with the package catalogue
#: (:data:`config.catalogue.CLUSTER_VENDOR_SECRETS`), which decides the namespaces that hold secrets.
CLUSTER_VENDOR_SECRETS = package_catalogue.CLUSTER_VENDOR_SECRETS


def random_value(length: int = RANDOM_LENGTH) -> str:
    """``length`` characters from ``[A-Za-z0-9]`` (cryptographically secure)."""
    return "".join(_secrets.choice(ALPHABET) for _i in range(length))


def _materialise(keys: dict) -> dict:
    return {k: (random_value() if v is RANDOM else v) for k, v in keys.items()}


def _manifest(namespace: str, name: str, values: dict) -> dict:
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": name, "namespace": namespace}, "stringData": values}


def environment_secrets(chart: dict | None = None, include_vendor: bool = True) -> dict:
    """``{name: {"keys": {key: value-or-RANDOM}, "vendor": bool}}`` of one environment installing ``chart`` (default
    chart 0.1.7): its chart's secrets contract. Raises ValueError when the chart's version cannot be told."""
    contract = tidepool_chart.SECRETS[tidepool_chart.generation(chart or tidepool_chart.CHART_0_1)]
    return {name: {"keys": {k: (RANDOM if v == tidepool_chart.GENERATED else v) for k, v in keys.items()},
                   "vendor": operator}
            for name, (keys, operator) in contract.items() if include_vendor or not operator}


def entries(environments, pkgs=None, include_vendor: bool = True, charts=None) -> dict:
    """``{"<namespace>/<name>": {"keys": {key: value-or-RANDOM}, "vendor": bool}}`` for a cluster: each environment's
    :func:`environment_secrets` (``charts``: ``{environment: chart}``, chart 0.1.7 where missing), then the enabled
    packages' vendor placeholders."""
    out = {}
    for env in sorted(environments or []):
        for name, entry in sorted(environment_secrets((charts or {}).get(env), include_vendor).items()):
            out[f"{env}/{name}"] = entry
    if include_vendor:
        for (namespace, name), spec in CLUSTER_VENDOR_SECRETS.items():
            if ((pkgs or {}).get(spec["pkg"]) or {}).get("enabled"):
                out[f"{namespace}/{name}"] = {"keys": dict(spec["keys"]), "vendor": True}
    return out


def rotatable(environments, pkgs=None, charts=None) -> list:
    """Ids (``<namespace>/<name>``) that have generated keys, i.e. that ``secrets_rotate`` may name."""
    return sorted(sid for sid, e in entries(environments, pkgs, charts=charts).items()
                  if any(v is RANDOM for v in e["keys"].values()))


def retired(environments, previous_charts, charts) -> list:
    """Ids (``<namespace>/<name>``) of the environment Secrets the contract of ``previous_charts``
    (``{environment: chart}``, the chart an environment ran) has and the contract of ``charts`` (the chart it moves
    to) has not: the Secrets nothing reads once the new chart runs (chart 0.1.7 to 0.26.0: ``carelink``, ``image``,
    ``mailchimp``, ``notification``, ``user``). Raises ValueError when a chart's version cannot be told."""
    out = []
    for env in sorted(environments or []):
        kept = set(environment_secrets((charts or {}).get(env)))
        out += [f"{env}/{name}" for name in sorted(environment_secrets((previous_charts or {}).get(env)))
                if name not in kept]
    return out


def manifests(environments, pkgs=None, exclude=(), only=None, include_vendor: bool = True, charts=None) -> list:
    """Secret manifests (``stringData``) of the catalogue with fresh random values.

    ``exclude``: ids given by the operator (vendor secrets, files) - left out here.
    ``only``: restrict to these ids (rotation); every id must be in the catalogue and have generated keys.
    """
    catalogue = entries(environments, pkgs, include_vendor=include_vendor, charts=charts)
    if only is not None:
        allowed = set(rotatable(environments, pkgs, charts))
        unknown = [sid for sid in only if sid not in allowed]
        if unknown:
            raise ValueError(f"secrets_rotate: {', '.join(unknown)} not a generated secret of this cluster; "
                             f"choose among <environment>/{{{', '.join(sorted({s.split('/')[1] for s in allowed}))}}}.")
    skip = set(exclude or ())
    out = []
    for sid in sorted(catalogue):
        if sid in skip or (only is not None and sid not in only):
            continue
        namespace, name = sid.split("/", 1)
        out.append(_manifest(namespace, name, _materialise(catalogue[sid]["keys"])))
    return out


def vendor_manifests(vendor: dict) -> list:
    """``{"<namespace>/<name>": {key: value}}`` (``secrets_vendor``) -> Secret manifests (``stringData``)."""
    out = []
    for sid in sorted(vendor or {}):
        parts = str(sid).split("/")
        if len(parts) != 2 or not all(parts):
            raise ValueError(f"secrets_vendor: key {sid!r} must be <namespace>/<name>.")
        values = vendor[sid]
        if not isinstance(values, dict):
            raise ValueError(f"secrets_vendor: {sid} must be a mapping of key to value.")
        out.append(_manifest(parts[0], parts[1], {str(k): v for k, v in values.items()}))
    return out
