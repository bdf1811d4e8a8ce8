# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""What ``amazon.aws.s3_bucket`` would change on the buckets of the ``assets`` role (pure Python).

The role reads every bucket of the cluster in one ``amazon.aws.s3_bucket_info`` call and then calls
``amazon.aws.s3_bucket`` only for the buckets :func:`drift` lists, so a run where nothing changed costs one
call whatever the number of environments; in check mode (which ``s3_bucket`` does not support,
ansible/ansible#27232) the same list is the prediction.

Shapes: ``wanted`` is the role's list of ``{name, environment, kind}``; ``info`` is ``s3_bucket_info``'s
``buckets`` list (``name``, ``bucket_encryption``, ``public_access_block``, ``bucket_versioning``,
``bucket_tagging``); the result is ``[{"name": ..., "changes": ["create (...)" | "set encryption ..." | ...]}]``
for the buckets with at least one change, in the order of ``wanted``.
"""
from __future__ import annotations

PUBLIC_ACCESS_KEYS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


def bucket_tags(cluster: str, bucket: dict, extra: dict) -> dict:
    """Tags the role puts on a bucket: ``extra`` plus ``tidepool.org/cluster|environment|bucket``."""
    return {**extra, "tidepool.org/cluster": cluster, "tidepool.org/environment": bucket["environment"],
            "tidepool.org/bucket": bucket["kind"]}


def changes(bucket: dict, have: dict | None, *, cluster: str, encryption: str, kms_key_id: str = "",
            versioning: bool = True, tags: dict | None = None, purge_tags: bool = False) -> list:
    """The changes ``s3_bucket`` would make to one bucket (``have`` None: the bucket does not exist)."""
    if have is None:
        return [f"create ({encryption}, public access blocked{', versioned' if versioning else ''})"]
    out = []
    rules = ((have.get("bucket_encryption") or {}).get("ServerSideEncryptionConfiguration") or {}).get("Rules") or [{}]
    sse = rules[0].get("ApplyServerSideEncryptionByDefault") or {}
    if sse.get("SSEAlgorithm", "") != encryption or (
            encryption == "aws:kms" and kms_key_id and sse.get("KMSMasterKeyID", "") != kms_key_id):
        out.append(f"set encryption {encryption} (now {sse.get('SSEAlgorithm') or 'none'})")
    pab = (have.get("public_access_block") or {}).get("PublicAccessBlockConfiguration") or {}
    if not all(pab.get(k) for k in PUBLIC_ACCESS_KEYS):
        out.append("block all public access")
    status = (have.get("bucket_versioning") or {}).get("Status") or ""
    if versioning and status != "Enabled":
        out.append("enable versioning")
    elif not versioning and status == "Enabled":
        out.append("suspend versioning")
    live_tags = have.get("bucket_tagging") or {}
    want_tags = bucket_tags(cluster, bucket, tags or {})
    keys = [k for k, v in want_tags.items() if k not in live_tags or str(live_tags[k]) != str(v)]
    if purge_tags:
        keys += [f"{k} (remove)" for k in live_tags if k not in want_tags]
    if keys:
        out.append("set tags " + ", ".join(keys))
    return out


def drift(wanted: list, info: list, **settings) -> list:
    """``[{"name", "changes"}]`` for every bucket of ``wanted`` that ``s3_bucket`` would create or change."""
    live = {b.get("name"): b for b in info or []}
    out = []
    for bucket in wanted:
        found = changes(bucket, live.get(bucket["name"]), **settings)
        if found:
            out.append({"name": bucket["name"], "changes": found})
    return out


def name_filter(names: list) -> str:
    """The longest prefix common to ``names`` (``s3_bucket_info``'s ``name_filter`` matches substrings), so the
    info call reads the cluster's buckets only, not every bucket of the account; '' when they share none."""
    if not names:
        return ""
    first, last = min(names), max(names)
    i = 0
    while i < len(first) and i < len(last) and first[i] == last[i]:
        i += 1
    return first[:i]
