# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Filters of the cluster role's Route53 scope (logic in plugins/module_utils/config/route53.py)."""
from __future__ import annotations

DOCUMENTATION = r"""
name: route53_zones
short_description: The inventory with aws.hostedZoneIds set to the hosted zones of its DNS names
description:
  - C(route53_zones) (C(inventory_values | route53_zones(zones))) returns the inventory with C(aws.hostedZoneIds) set
    to the public hosted zones of C(zones) (C(hosted_zones) of C(amazon.aws.route53_info), or boto3's
    C(HostedZones)) that hold its DNS names (C(environments.<env>.gateway.http|https.dnsNames) of enabled gateways,
    C(certificates[].dnsNames)): the longest zone name each DNS name ends with. An inventory that names
    C(aws.hostedZoneIds) is returned as it is.
  - C(route53_zone_error) (C(inventory_values | route53_zone_error(zones))) is one sentence naming the DNS names no
    public zone holds (or saying the inventory names no DNS name), empty when every name has a zone or the inventory
    names C(aws.hostedZoneIds).
  - C(route53_needs_lookup) (C(inventory_values | route53_needs_lookup)) is true when cert-manager or external-dns is
    enabled and C(aws.hostedZoneIds) is not set.
positional: _input, zones
options:
  _input:
    description: The validated inventory (C(inventory_values)).
    type: dict
    required: true
  zones:
    description: Route53 hosted zones (C(id), C(name), C(config.private_zone)).
    type: list
    elements: dict
"""

EXAMPLES = r"""
values: "{{ inventory_values | tidepool.eks.route53_zones(lookup.hosted_zones) }}"
"""

RETURN = r"""
_value:
  description: The inventory with C(aws.hostedZoneIds); a sentence; or a bool.
  type: raw
"""

from ansible_collections.tidepool.eks.plugins.filter.config import _plain
from ansible_collections.tidepool.eks.plugins.module_utils.config import route53


def route53_zones(values, zones):
    return route53.with_zones(_plain(values), _plain(zones or []))


def route53_zone_error(values, zones):
    return route53.resolve_error(_plain(values), _plain(zones or [])) or ""


def route53_needs_lookup(values):
    return route53.needs_lookup(_plain(values))


class FilterModule:
    def filters(self):
        return {"route53_zones": route53_zones, "route53_zone_error": route53_zone_error,
                "route53_needs_lookup": route53_needs_lookup}
