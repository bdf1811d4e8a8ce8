# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Whose bucket is it: the owner tags the ``assets`` role puts on a bucket, read back before anything changes.

A bucket belongs to the cluster and environment its tags ``tidepool.org/cluster`` and ``tidepool.org/environment``
name (the ``assets`` role sets both when it creates a bucket). S3 bucket names are global and the derived names
``tidepool-<cluster>-<env>-<kind>`` collide across clusters (``(test, prod-qa)`` and ``(test-prod, qa)`` both give
``tidepool-test-prod-qa-data``), and an inventory may name any bucket in ``environments.<env>.buckets``; so:

* :func:`refusals`: before the ``assets`` role creates or changes anything, every existing bucket it would touch must
  carry this cluster's and this environment's tags, or carry neither owner tag and be declared adopted in the
  inventory (``environments.<env>.buckets.adopt: [data, asset]``). Anything else is refused, never re-tagged.
* :func:`partition`: teardown (``purge_buckets``) deletes only the buckets tagged as this cluster's (and the
  environment's) and reports the others, which it leaves in place.

Shapes: ``wanted`` is ``[{name, environment, kind}]`` (filter ``environment_buckets``); ``info`` is
``amazon.aws.s3_bucket_info``'s ``buckets`` list with the ``bucket_tagging`` fact (a ``{key: value}`` dict, ``{}``
for a bucket without tags *or whose tags could not be read*: that module passes over every S3 error). So a bucket
that reads as untagged is read again by :func:`read_tags` (module ``bucket_tags``), where only S3's ``NoSuchTagSet``
means "no tags" and any other error (``AccessDenied``: ``s3:GetBucketTagging``) stops the run naming it.
"""
from __future__ import annotations

from ansible_collections.tidepool.eks.plugins.module_utils.aws.connection import AwsError

CLUSTER_TAG = "tidepool.org/cluster"
ENVIRONMENT_TAG = "tidepool.org/environment"
#: The bucket kinds an environment may adopt (``environments.<env>.buckets.adopt``).
KINDS = ("data", "asset")


#: S3's answer for a bucket without tags (every other error of GetBucketTagging is a failure).
NO_TAGS_CODE = "NoSuchTagSet"


def read_tags(call, names) -> dict:
    """``{name: {key: value}}`` of the buckets ``names`` (``{}``: S3 answered ``NoSuchTagSet``; ``None``: the bucket
    does not exist, ``NoSuchBucket``). ``call(name)`` is ``GetBucketTagging`` of one bucket, returning its ``TagSet``
    list or raising :class:`~.connection.AwsError` (``code`` set). Any other error is raised as it is: it names the
    operation and, for a denial, the IAM action (``s3:GetBucketTagging``)."""
    out = {}
    for name in names:
        try:
            out[name] = {t["Key"]: t["Value"] for t in call(name) or []}
        except AwsError as exc:
            if exc.code == NO_TAGS_CODE:
                out[name] = {}
            elif exc.code == "NoSuchBucket":
                out[name] = None
            else:
                raise
    return out


def untagged_existing(wanted: list, info: list) -> list:
    """Names of the buckets of ``wanted`` that exist in ``info`` and read as having no owner tag: the ones whose
    tags :func:`read_tags` must confirm before :func:`refusals` trusts them."""
    live = {b.get("name"): b for b in info or []}
    return [b["name"] for b in wanted
            if b["name"] in live and owner(live[b["name"]].get("bucket_tagging")) == (None, None)]


def with_tags(info: list, tags: dict) -> list:
    """``info`` with the ``bucket_tagging`` of the buckets in ``tags`` (:func:`read_tags`) replaced; a bucket
    ``tags`` found gone (None) is left out."""
    out = []
    for bucket in info or []:
        name = bucket.get("name")
        if name in tags:
            if tags[name] is None:
                continue
            bucket = {**bucket, "bucket_tagging": tags[name]}
        out.append(bucket)
    return out


def owner(tags: dict | None) -> tuple:
    """``(cluster, environment)`` of a bucket's tags (``None`` for a tag that is absent)."""
    tags = tags or {}
    return tags.get(CLUSTER_TAG), tags.get(ENVIRONMENT_TAG)


def _owner_text(tags: dict | None) -> str:
    cluster, env = owner(tags)
    if cluster is None and env is None:
        return f"no {CLUSTER_TAG} tag (not created by tidepool.eks)"
    return f"{CLUSTER_TAG}={cluster if cluster is not None else '(none)'}, " \
           f"{ENVIRONMENT_TAG}={env if env is not None else '(none)'}"


def adopted(environments: dict | None, env: str, kind: str) -> bool:
    """Whether ``environments.<env>.buckets.adopt`` lists ``kind`` (``data`` or ``asset``)."""
    conf = (environments or {}).get(env) or {}
    return kind in (((conf.get("buckets") or {}).get("adopt")) or [])


def refusal(bucket: dict, have: dict | None, *, cluster: str, environments: dict | None = None) -> str | None:
    """Why the ``assets`` role may not touch this bucket (one sentence), or None when it may: the bucket does not
    exist, is tagged for this cluster and ``bucket["environment"]``, or has no owner tag and is adopted."""
    if have is None:
        return None
    tags = have.get("bucket_tagging") or {}
    env = bucket["environment"]
    if owner(tags) == (cluster, env):
        return None
    if owner(tags) == (None, None) and adopted(environments, env, bucket["kind"]):
        return None
    name = bucket["name"]
    if owner(tags) == (None, None):
        hint = (f"if it is this environment's, declare it with environments.{env}.buckets.adopt: [{bucket['kind']}]; "
                f"otherwise name another bucket in environments.{env}.buckets.{bucket['kind']}")
    else:
        hint = (f"another cluster's bucket is never re-tagged; name another bucket in "
                f"environments.{env}.buckets.{bucket['kind']}")
    return (f"bucket {name} exists with {_owner_text(tags)}, not this cluster's ({CLUSTER_TAG}={cluster}, "
            f"{ENVIRONMENT_TAG}={env}): refused, nothing changed ({hint})")


def refusals(wanted: list, info: list, *, cluster: str, environments: dict | None = None) -> list:
    """One sentence per bucket of ``wanted`` the ``assets`` role may not touch (:func:`refusal`), in order."""
    live = {b.get("name"): b for b in info or []}
    out = []
    for bucket in wanted:
        why = refusal(bucket, live.get(bucket["name"]), cluster=cluster, environments=environments)
        if why:
            out.append(why)
    return out


def partition(wanted: list, info: list, *, cluster: str) -> dict:
    """Teardown's split of ``wanted`` into ``{"delete": [names tagged for this cluster and their environment],
    "kept": ["<name>: <owner>" of existing buckets that are not], "absent": [names that do not exist]}``."""
    live = {b.get("name"): b for b in info or []}
    out = {"delete": [], "kept": [], "absent": []}
    for bucket in wanted:
        have = live.get(bucket["name"])
        if have is None:
            out["absent"].append(bucket["name"])
        elif owner(have.get("bucket_tagging")) == (cluster, bucket["environment"]):
            out["delete"].append(bucket["name"])
        else:
            out["kept"].append(f"{bucket['name']}: {_owner_text(have.get('bucket_tagging'))}, not "
                               f"{CLUSTER_TAG}={cluster}, {ENVIRONMENT_TAG}={bucket['environment']}")
    return out


def collisions(buckets_by_cluster: dict) -> list:
    """One sentence per bucket name that two clusters of one run would use: ``buckets_by_cluster`` maps each
    cluster name to its buckets (``{name, environment, kind}``, as ``environment_buckets`` gives them). S3 names are
    global, so both clusters' roles would manage one bucket (derived names collide: (``test``, ``prod-qa``) and
    (``test-prod``, ``qa``) both give ``tidepool-test-prod-qa-data``); the run is refused before either host changes
    anything. Sorted by bucket name; empty when no name is shared."""
    users = {}
    for cluster in sorted(buckets_by_cluster):
        for bucket in buckets_by_cluster[cluster] or []:
            users.setdefault(bucket["name"], []).append((cluster, bucket["environment"], bucket["kind"]))
    out = []
    for name in sorted(users):
        clusters = users[name]
        if len({user[0] for user in clusters}) < 2:
            continue
        who = " and ".join(f"cluster {c} (environments.{env}.buckets.{kind})" for c, env, kind in clusters)
        out.append(f"bucket {name} is the bucket of {who}: S3 names are global, so one of them must name another "
                   "bucket; refused before any change")
    return out
