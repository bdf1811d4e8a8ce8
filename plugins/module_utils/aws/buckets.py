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
``bucket_tagging``, ``bucket_policy``); the result is ``[{"name", "environment", "kind", "changes": ["create (...)"
| "set encryption ..." | ...], "policy": {...}}]`` for the buckets with at least one change, in the order of
``wanted`` (``policy``: the bucket policy to set, :func:`wanted_policy`).

Who owns a bucket (and whether the role may touch it at all) is :mod:`aws.bucket_ownership`'s question, asked
before this one.
"""
from __future__ import annotations

import json

PUBLIC_ACCESS_KEYS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
#: Sid of the statement the role keeps in every bucket's policy: deny any request not sent over TLS.
TLS_SID = "TidepoolDenyInsecureTransport"


def tls_statement(name: str) -> dict:
    """The bucket policy statement that denies every request to bucket ``name`` not sent over TLS
    (``aws:SecureTransport`` false), as AWS's S3 security best practices write it."""
    return {"Sid": TLS_SID, "Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}


def live_policy(have: dict | None) -> dict | None:
    """The bucket policy of an ``s3_bucket_info`` entry (its ``bucket_policy`` fact, ``{"Policy": "<JSON>"}``),
    as a dict; None when the bucket has none."""
    text = ((have or {}).get("bucket_policy") or {}).get("Policy")
    if not text:
        return None
    return json.loads(text) if isinstance(text, str) else text


def wanted_policy(name: str, live: dict | None) -> dict:
    """The bucket policy the role sets: the live policy's statements (other than its own) kept, then
    :func:`tls_statement`."""
    kept = [s for s in ((live or {}).get("Statement") or []) if s.get("Sid") != TLS_SID]
    if isinstance((live or {}).get("Statement"), dict):
        kept = [live["Statement"]] if live["Statement"].get("Sid") != TLS_SID else []
    return {"Version": "2012-10-17", "Statement": kept + [tls_statement(name)]}


def _norm(value):
    """A policy element compared the way IAM reads it: one-item lists as their item, lists unordered."""
    if isinstance(value, dict):
        return {k: _norm(v) for k, v in value.items()}
    if isinstance(value, list):
        items = [_norm(v) for v in value]
        return items[0] if len(items) == 1 else sorted(items, key=lambda v: json.dumps(v, sort_keys=True))
    return value


def has_tls_policy(name: str, live: dict | None) -> bool:
    """Whether the live policy holds the role's TLS-only statement unchanged."""
    statements = (live or {}).get("Statement") or []
    statements = [statements] if isinstance(statements, dict) else statements
    return any(_norm(s) == _norm(tls_statement(name)) for s in statements)


def bucket_tags(cluster: str, bucket: dict, extra: dict) -> dict:
    """Tags the role puts on a bucket: ``extra`` plus ``tidepool.org/cluster|environment|bucket``."""
    return {**extra, "tidepool.org/cluster": cluster, "tidepool.org/environment": bucket["environment"],
            "tidepool.org/bucket": bucket["kind"]}


def changes(bucket: dict, have: dict | None, *, cluster: str, encryption: str, kms_key_id: str = "",
            versioning: bool = True, tags: dict | None = None, purge_tags: bool = False, tls_only: bool = True) -> list:
    """The changes ``s3_bucket`` would make to one bucket (``have`` None: the bucket does not exist); ``tls_only``:
    whether the bucket policy must hold :func:`tls_statement` (False: the policy is not managed)."""
    if have is None:
        return [f"create ({encryption}, public access blocked{', versioned' if versioning else ''}"
                f"{', TLS-only policy' if tls_only else ''})"]
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
    if tls_only and not has_tls_policy(bucket["name"], live_policy(have)):
        out.append("set the TLS-only bucket policy (deny aws:SecureTransport false)")
    return out


def drift(wanted: list, info: list, **settings) -> list:
    """``[{"name", "environment", "kind", "changes", "policy"}]`` for every bucket of ``wanted`` that ``s3_bucket``
    would create or change."""
    live = {b.get("name"): b for b in info or []}
    out = []
    for bucket in wanted:
        have = live.get(bucket["name"])
        found = changes(bucket, have, **settings)
        if found:
            out.append({**bucket, "changes": found, "policy": wanted_policy(bucket["name"], live_policy(have))})
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
