# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""IAM master users in the ``kube-system/aws-auth`` ConfigMap (make_users, fixed: research section 6.3, 22.31).

The install guide's helper mapped each ``aws.iamUsers`` entry with ``eksctl create iamidentitymapping --role=...``,
which put *user* ARNs under ``mapRoles`` and appended a duplicate on every run. Here each user becomes one
``mapUsers`` entry (``userarn: arn:aws:iam::<account>:user/<user>``, ``username: <user>``, ``groups:
[system:masters]``), added to what is there: other ``mapUsers`` entries are kept as they are, ``mapRoles`` (the
node-group role mappings) is never read or written, and a user already mapped is not added again.
"""
from __future__ import annotations

import re

try:
    import yaml
except ImportError:  # pragma: no cover - Ansible itself needs PyYAML; this keeps the import sanity test quiet
    yaml = None

from ansible_collections.tidepool.eks.plugins.module_utils.common.errors import TidepoolError

MASTERS = "system:masters"
_USER_RE = re.compile(r"^[\w+=,.@/-]{1,64}$")


class AwsAuthError(TidepoolError, ValueError):
    """Bad input (a user name, the account, an unreadable mapUsers); the message names it."""


def user_arn(account: str, user: str) -> str:
    """``arn:aws:iam::<account>:user/<user>`` (a user with a path may be given as ``path/name``)."""
    if not re.match(r"^[0-9]{12}$", str(account)):
        raise AwsAuthError(f"aws.accountNumber={account!r} is not a 12-digit AWS account id.")
    if not isinstance(user, str) or not _USER_RE.match(user):
        raise AwsAuthError(f"aws.iamUsers: {user!r} is not an IAM user name.")
    return f"arn:aws:iam::{account}:user/{user}"


def user_arns(account: str, users: list) -> list:
    """:func:`user_arn` of each of ``users`` (the inventory's ``aws.iamUsers``), once each, in order.

    Raises AwsAuthError for a bad account id or user name (the message names it)."""
    out = []
    for user in users or []:
        arn = user_arn(account, user)
        if arn not in out:
            out.append(arn)
    return out


def merge_map_users(map_users: str | None, users: list, account: str) -> tuple[str, list]:
    """New ``mapUsers`` text with every user in ``users`` mapped to system:masters, and the ARNs added.

    ``map_users`` is the ConfigMap's current ``data.mapUsers`` (YAML list text, or None/empty). Entries already
    there are kept in order; an entry with one of our ARNs gets ``system:masters`` added to its groups when it
    lacks it; repeated entries of one of our ARNs are collapsed into the first. When nothing changes the text comes
    back as it was (``""`` for none), so callers compare strings. Raises AwsAuthError when the
    current text is not a YAML list.
    """
    try:
        current = yaml.safe_load(map_users) if map_users else []
    except yaml.YAMLError as exc:
        raise AwsAuthError(f"kube-system/aws-auth data.mapUsers is not valid YAML ({exc.problem}); fix it by hand.") from None
    if current is None:
        current = []
    if not isinstance(current, list) or not all(isinstance(e, dict) for e in current):
        raise AwsAuthError("kube-system/aws-auth data.mapUsers is not a list of mappings; fix it by hand.")
    wanted = {}
    for user in users or []:
        wanted.setdefault(user_arn(account, user), user)
    out, seen, added = [], set(), []
    for entry in current:
        arn = entry.get("userarn")
        if arn in wanted:
            if arn in seen:
                continue
            seen.add(arn)
            groups = list(entry.get("groups") or [])
            if MASTERS not in groups:
                entry = dict(entry, groups=groups + [MASTERS])
        out.append(entry)
    for arn, user in wanted.items():
        if arn not in seen:
            out.append({"userarn": arn, "username": user, "groups": [MASTERS]})
            added.append(arn)
    if out == current:
        return map_users or "", []
    return yaml.safe_dump(out, default_flow_style=False, sort_keys=False), added
