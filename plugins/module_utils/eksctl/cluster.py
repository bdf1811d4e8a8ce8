# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""The identity mappings the ClusterConfig gets from the inventory (``aws.iamUsers``).

Reading the cluster, planning and running eksctl live in :mod:`state`, :mod:`planning` and :mod:`runner`.
"""
from __future__ import annotations

import copy


# ---------------------------------------------------------------------------------------------
# From the inventory
# ---------------------------------------------------------------------------------------------

def identity_mappings(values: dict) -> list[dict]:
    """``iamIdentityMappings`` for the inventory's ``aws.iamUsers`` (the guide's "IAM Master Users"):
    each user is mapped to ``system:masters`` under its own user name."""
    account = str(values["aws"]["accountNumber"])
    return [{"arn": f"arn:aws:iam::{account}:user/{user}", "username": user, "groups": ["system:masters"]}
            for user in values["aws"].get("iamUsers") or []]


def with_identity_mappings(config: dict, values: dict) -> dict:
    """The ClusterConfig plus the identity mappings of :func:`identity_mappings` (after any it already has)."""
    out = copy.deepcopy(config)
    mappings = list(out.get("iamIdentityMappings") or [])
    known = {m.get("arn") for m in mappings}
    mappings += [m for m in identity_mappings(values) if m["arn"] not in known]
    if mappings:
        out["iamIdentityMappings"] = mappings
    return out
