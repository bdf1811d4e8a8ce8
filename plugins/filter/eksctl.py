# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Filter of the cluster role: the ClusterConfig eksctl_cluster gets for an inventory host."""
from __future__ import annotations

DOCUMENTATION = r"""
name: eksctl_cluster_config
short_description: The eksctl ClusterConfig of a cluster, with the inventory's IAM users mapped to system:masters
description:
  - Renders the ClusterConfig the C(tidepool.eks.config) role commits (C(plugins/module_utils/config/cluster_config.py))
    and adds C(iamIdentityMappings) for C(aws.iamUsers) (the install guide's "IAM Master Users").
positional: _input
options:
  _input:
    description:
      - The inventory's values (C(inventory_values)); read are their C(cluster) block, C(aws.iamUsers) and the IRSA
        accounts of their packages and environments.
    type: dict
    required: true
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.tidepool.eks.plugins.filter.config import _flavour, _valid
from ansible_collections.tidepool.eks.plugins.module_utils.config import cluster_config


def eksctl_cluster_config(values):
    values = _valid(values)
    try:
        return cluster_config.eksctl_cluster_config(values, _flavour(values))
    except (KeyError, TypeError) as exc:
        raise AnsibleFilterError(f"cannot render the ClusterConfig: missing {exc}") from None


class FilterModule:
    def filters(self):
        return {"eksctl_cluster_config": eksctl_cluster_config}
