# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Filters of the assets role (logic in plugins/module_utils/aws/buckets.py).

Each filter is documented in plugins/filter/<name>.yml: ansible-doc reads those only when this file has no
DOCUMENTATION, so it has none (tests/unit/plugins/filter/test_filter_docs.py).
"""
from __future__ import annotations

from ansible_collections.tidepool.eks.plugins.filter.config import _plain
from ansible_collections.tidepool.eks.plugins.module_utils.aws import buckets as core
from ansible_collections.tidepool.eks.plugins.module_utils.aws import bucket_ownership
from ansible_collections.tidepool.eks.plugins.filter.naming import environment_buckets


def bucket_drift(buckets, info, cluster, encryption, kms_key_id="", versioning=True, tags=None, purge_tags=False,
                 tls_only=True):
    return core.drift(_plain(buckets), _plain(info), cluster=str(cluster), encryption=str(encryption),
                      kms_key_id=str(kms_key_id or ""), versioning=bool(versioning), tags=_plain(tags or {}),
                      purge_tags=bool(purge_tags), tls_only=bool(tls_only))


def bucket_collisions(values_by_host):
    """Sentences naming each bucket two hosts (clusters) of one run would share (``bucket_ownership.collisions``);
    ``values_by_host``: host -> its ``inventory_values``."""
    by_cluster = {}
    for values in _plain(values_by_host or {}).values():
        cluster = str(((values or {}).get("cluster") or {}).get("metadata", {}).get("name"))
        by_cluster[cluster] = environment_buckets((values or {}).get("environments") or {}, cluster)
    return bucket_ownership.collisions(by_cluster)


def bucket_refusals(buckets, info, cluster, environments=None, confirmed=None):
    info = bucket_ownership.with_tags(_plain(info), _plain(confirmed or {}))
    return bucket_ownership.refusals(_plain(buckets), info, cluster=str(cluster),
                                     environments=_plain(environments or {}))


def bucket_untagged(buckets, info):
    return bucket_ownership.untagged_existing(_plain(buckets), _plain(info))


def bucket_teardown(buckets, info, cluster):
    return bucket_ownership.partition(_plain(buckets), _plain(info), cluster=str(cluster))


def bucket_name_filter(names):
    return core.name_filter([str(n) for n in names])


class FilterModule:
    def filters(self):
        return {"bucket_collisions": bucket_collisions, "bucket_drift": bucket_drift,
                "bucket_name_filter": bucket_name_filter,
                "bucket_refusals": bucket_refusals, "bucket_teardown": bucket_teardown,
                "bucket_untagged": bucket_untagged}
