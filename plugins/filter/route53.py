# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Filters of the cluster role's Route53 scope (logic in plugins/module_utils/config/route53.py)."""
from __future__ import annotations

DOCUMENTATION = r"""
name: route53_scope
short_description: The ClusterConfig with the Route53 IRSA statements narrowed to the zones of the inventory's DNS names
description:
  - C(route53_scope) (C(config | route53_scope(inventory_values, zones))) returns the rendered ClusterConfig
    (C(eksctl_cluster_config)) with every IRSA statement on C(arn:aws:route53:::hostedzone/*) narrowed to the public
    hosted zones of C(zones) (C(hosted_zones) of C(amazon.aws.route53_info), or boto3's C(HostedZones)) that hold the
    inventory's DNS names (C(environments.<env>.gateway.http|https.dnsNames) of enabled gateways,
    C(certificates[].dnsNames)), the longest zone name each DNS name ends with. Unchanged when the inventory names
    C(aws.hostedZoneIds) or C(zones) is None (not looked up); an error when a DNS name has no zone.
  - C(route53_zone_error) (C(inventory_values | route53_zone_error(zones))) is one sentence naming the DNS names no
    public zone holds (or saying the inventory names no DNS name), empty when every name has a zone or the inventory
    names C(aws.hostedZoneIds).
  - C(route53_needs_lookup) (C(inventory_values | route53_needs_lookup)) is true when cert-manager or external-dns is
    enabled and C(aws.hostedZoneIds) is not set.
positional: _input, values, zones
options:
  _input:
    description: The rendered ClusterConfig (C(route53_scope)) or the validated inventory (the other two filters).
    type: dict
    required: true
  values:
    description: The validated inventory (C(route53_scope) only).
    type: dict
  zones:
    description: Route53 hosted zones (C(id), C(name), C(config.private_zone)).
    type: list
    elements: dict
"""

EXAMPLES = r"""
config: "{{ inventory_values | tidepool.eks.eksctl_cluster_config | tidepool.eks.route53_scope(inventory_values, lookup.hosted_zones) }}"
"""

RETURN = r"""
_value:
  description: The ClusterConfig; a sentence; or a bool.
  type: raw
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.tidepool.eks.plugins.filter.config import _plain
from ansible_collections.tidepool.eks.plugins.module_utils.config import route53


def route53_scope(config, values, zones=None):
    try:
        return route53.scope_cluster_config(_plain(config), _plain(values), None if zones is None else _plain(zones))
    except ValueError as exc:
        raise AnsibleFilterError(str(exc)) from None


def route53_zone_error(values, zones):
    return route53.resolve_error(_plain(values), _plain(zones or [])) or ""


def route53_needs_lookup(values):
    return route53.needs_lookup(_plain(values))


class FilterModule:
    def filters(self):
        return {"route53_scope": route53_scope, "route53_zone_error": route53_zone_error,
                "route53_needs_lookup": route53_needs_lookup}
