# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Filters of the cluster role's Route53 scope (logic in plugins/module_utils/config/route53.py).

Each filter is documented in plugins/filter/<name>.yml: ansible-doc reads those only when this file has no
DOCUMENTATION, so it has none (tests/unit/plugins/filter/test_filter_docs.py).
"""
from __future__ import annotations

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
