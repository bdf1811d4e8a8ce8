# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Reading validated inventory values (the keys of the install guide's ``values.yaml``): the cluster's name,
region, account and Kubernetes version, the enabled packages, and the merge rule of the inventory's overrides.

Every function assumes values that :func:`config.validation.validate` accepted.
"""
from __future__ import annotations

import copy

from ansible_collections.tidepool.eks.plugins.module_utils.config import catalogue


def deep_merge(base: dict, override: dict) -> dict:
    """Return ``base`` updated recursively with ``override`` (dicts merge, everything else replaces)."""
    out = copy.deepcopy(base)
    for key, value in (override or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def enabled_pkgs(values: dict) -> list[str]:
    """Names of the enabled shared-service packages, sorted."""
    return sorted(p for p, c in (values.get("pkgs") or {}).items() if isinstance(c, dict) and c.get("enabled"))


def cluster_name(values: dict) -> str:
    """``cluster.metadata.name``."""
    return values["cluster"]["metadata"]["name"]


def region(values: dict) -> str:
    """``cluster.metadata.region``."""
    return values["cluster"]["metadata"]["region"]


def account(values: dict) -> str:
    """``aws.accountNumber`` as a string (12 digits)."""
    return str(values["aws"]["accountNumber"])


def kubernetes_version(values: dict) -> str:
    """``cluster.metadata.version`` or :data:`catalogue.DEFAULT_KUBERNETES_VERSION`, as a string such as ``"1.34"``."""
    return str(values["cluster"]["metadata"].get("version") or catalogue.DEFAULT_KUBERNETES_VERSION)


def environments(values: dict) -> list[str]:
    """Names of the Tidepool environments, sorted."""
    return sorted(values.get("environments") or {})


def environment_conf(values: dict, env: str) -> dict:
    """``environments.<env>`` (an empty dict when it has no settings)."""
    return (values.get("environments") or {}).get(env) or {}


def secret_namespaces(values: dict) -> dict:
    """``{namespace: package}``, sorted by namespace, of the namespaces that hold secrets of the secrets
    catalogue: the namespace of each enabled package's cluster vendor secrets
    (:data:`catalogue.CLUSTER_VENDOR_SECRETS`, the package's name) and every Tidepool environment (None). Empty
    unless ``pkgs.external-secrets`` is enabled: without a secrets controller no namespace reads secrets from
    Secrets Manager. The one rule: the flavour's secret stores, namespace annotations and reader accounts
    (:mod:`config.environments`, :mod:`config.packages`, :mod:`config.irsa`) are written for these namespaces."""
    enabled = set(enabled_pkgs(values))
    if "external-secrets" not in enabled:
        return {}
    out = {}
    for (namespace, _name), spec in sorted(catalogue.CLUSTER_VENDOR_SECRETS.items()):
        if spec["pkg"] in enabled:
            out.setdefault(namespace, spec["pkg"])
    for env in environments(values):
        out.setdefault(env, None)
    return dict(sorted(out.items()))
