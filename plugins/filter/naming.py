# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Naming-convention filters: roles and templates read names from plugins/module_utils/common/naming.py.

Each filter is documented in plugins/filter/<name>.yml: ansible-doc reads those only when this file has no
DOCUMENTATION, so it has none (tests/unit/plugins/filter/test_filter_docs.py).
"""
from __future__ import annotations

import os

from ansible.errors import AnsibleFilterError
from ansible_collections.tidepool.eks.plugins.module_utils.common import naming


def environment_buckets(environments, cluster):
    if environments in (None, ""):
        environments = {}
    if not isinstance(environments, dict):
        raise AnsibleFilterError("environments must be a dict of environment name -> settings")
    out = []
    for env in sorted(environments):
        conf = environments[env] or {}
        overrides = conf.get("buckets") if isinstance(conf, dict) else None
        names = naming.bucket_names(str(cluster), str(env), dict(overrides or {}))
        for kind in ("data", "asset"):
            out.append({"environment": str(env), "kind": kind, "name": str(names[kind])})
    return out


def bucket_names(cluster, env, overrides=None):
    return naming.bucket_names(str(cluster), str(env), dict(overrides or {}))


def tiller_ca_ids(cluster):
    return list(naming.tiller_ca_ids(str(cluster)))


def helm_client_dir(helm_home, cluster):
    return naming.helm_client_dir(str(helm_home), str(cluster))


def default_helm_home(_input=None):
    """``$HELM_HOME`` of the controller, else ``~/.helm`` (not expanded), as make_cert chose it."""
    return os.environ.get("HELM_HOME") or "~/.helm"


def default_flux_pki_dir(cluster):
    """``$HOME/.cache/tidepool-eks/flux-pki/<cluster>`` on the controller (``$HOME`` empty when unset)."""
    return os.environ.get("HOME", "") + "/.cache/tidepool-eks/flux-pki/" + str(cluster)


def not_dns_labels(values):
    return [v for v in values if not naming.is_dns_label(v)]


class FilterModule:
    def filters(self):
        return {
            "environment_buckets": environment_buckets,
            "bucket_names": bucket_names,
            "tiller_ca_ids": tiller_ca_ids,
            "helm_client_dir": helm_client_dir,
            "default_helm_home": default_helm_home,
            "default_flux_pki_dir": default_flux_pki_dir,
            "not_dns_labels": not_dns_labels,
        }
