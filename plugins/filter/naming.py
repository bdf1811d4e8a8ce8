# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Naming-convention filters: roles and templates read names from plugins/module_utils/common/naming.py."""
from __future__ import annotations

DOCUMENTATION = r"""
name: environment_buckets
short_description: Names of the S3 buckets of a cluster's Tidepool environments
description:
  - Filters exposing C(plugins/module_utils/common/naming.py), the one file owning tidepool.eks naming conventions.
  - C(environment_buckets) turns the inventory's C(environments) dict into a list of
    C({environment, kind, name}) (C(kind) is C(data) or C(asset)), honouring C(environments.<env>.buckets.data)
    and C(.asset) overrides; default names C(tidepool-<cluster>-<env>-data) and C(tidepool-<cluster>-<env>-asset).
  - C(bucket_names) gives C({data, asset}) of one environment (input the cluster name, then the environment
    and its C(buckets) overrides).
  - C(tiller_ca_ids) gives the Secrets Manager ids of the Tiller CA (input the cluster name).
  - C(helm_client_dir) gives C(<helm_home>/clusters/<cluster>) (input the Helm home, argument the cluster).
  - C(default_helm_home) gives the Helm home of the machine running the play, C($HELM_HOME), else C(~/.helm) (input
    ignored), the default of the helm_client role's C(helm_client_helm_home) (and of the migrate_flux_v2 role's
    certificate directories, which read the same setting).
  - C(default_flux_pki_dir) gives C($HOME/.cache/tidepool-eks/flux-pki/<cluster>) (input the cluster name), the default
    of the flux role's C(flux_pki_dir) (and of the migrate_flux_v2 role's certificate directories).
  - C(not_dns_labels) gives the items of a list that are not namespace names (RFC 1123 DNS labels of at most 63
    characters), in input order (input the list).
positional: _input, cluster
options:
  _input:
    description: The C(environments) dict of the inventory.
    type: dict
    required: true
  cluster:
    description: The cluster name (C(cluster.metadata.name)).
    type: str
    required: true
"""

EXAMPLES = r"""
buckets: "{{ environments | tidepool.eks.environment_buckets(cluster.metadata.name) }}"
qa1: "{{ cluster.metadata.name | tidepool.eks.bucket_names('qa1', environments.qa1.buckets | default({})) }}"
"""

RETURN = r"""
_value:
  description: A list of C({environment, kind, name}) dicts, sorted by environment then kind (data, asset).
  type: list
  elements: dict
"""

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
