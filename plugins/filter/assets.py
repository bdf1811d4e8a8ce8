# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Filters of the assets role (logic in plugins/module_utils/aws/buckets.py)."""
from __future__ import annotations

DOCUMENTATION = r"""
name: bucket_drift
short_description: What amazon.aws.s3_bucket would change on the buckets of the assets role
description:
  - C(bucket_drift) compares the role's buckets (C({name, environment, kind}) dicts, from C(environment_buckets)) with
    the C(buckets) list of one C(amazon.aws.s3_bucket_info) call and returns C({name, changes}) for each bucket that
    would be created or changed (encryption, public access block, versioning, tags, the TLS-only bucket policy).
  - C(bucket_refusals) (C(buckets | bucket_refusals(info, cluster=..., environments=...))) lists, one sentence
    each, the existing buckets the role may not touch (tagged for another cluster or environment, or without the
    C(tidepool.org/cluster) tag and not adopted with C(environments.<env>.buckets.adopt)).
  - C(bucket_teardown) (C(buckets | bucket_teardown(info, cluster=...))) splits the buckets into C(delete) (tagged
    as this cluster's), C(kept) (existing, someone else's, with their owner tags) and C(absent).
  - C(bucket_name_filter) gives the longest prefix common to a list of bucket names, for C(s3_bucket_info)'s
    C(name_filter).
positional: _input, info
options:
  _input:
    description: The buckets of the role.
    type: list
    elements: dict
    required: true
  info:
    description: C(buckets) of C(amazon.aws.s3_bucket_info) with C(bucket_encryption), C(public_access_block),
      C(bucket_versioning) and C(bucket_tagging) facts.
    type: list
    elements: dict
    required: true
  cluster:
    description: Cluster name (tag C(tidepool.org/cluster)).
    type: str
    required: true
  encryption:
    description: C(AES256) or C(aws:kms).
    type: str
    required: true
  kms_key_id:
    description: KMS key of C(aws:kms) encryption; empty for the account's default key.
    type: str
    default: ""
  versioning:
    description: Whether versioning is wanted.
    type: bool
    default: true
  tags:
    description: Tags beside the C(tidepool.org/*) ones.
    type: dict
    default: {}
  purge_tags:
    description: Whether tags set by others are removed.
    type: bool
    default: false
  tls_only:
    description: Whether the bucket policy must deny requests without TLS (C(aws:SecureTransport) false).
    type: bool
    default: true
"""

EXAMPLES = r"""
drift: "{{ buckets | tidepool.eks.bucket_drift(info.buckets, cluster='test1', encryption='AES256') }}"
"""

RETURN = r"""
_value:
  description: C({name, changes}) of every bucket with at least one change (C(changes) a list of sentences).
  type: list
  elements: dict
"""

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
