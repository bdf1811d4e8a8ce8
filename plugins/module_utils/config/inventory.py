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


#: ``flux_version`` of a cluster whose inventory names none (the install guide's Flux v1).
DEFAULT_FLUX_VERSION = 1


def flux_version(values: dict) -> int:
    """``flux_version`` (the GitOps flavour, 1 or 2), :data:`DEFAULT_FLUX_VERSION` when absent."""
    version = values.get("flux_version")
    return DEFAULT_FLUX_VERSION if version in (None, "") else int(version)
