# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Building blocks of the inventory's JSON Schema (:mod:`config.values_schema`, :mod:`config.cluster_schema`):
strings with anchored ASCII patterns, closed objects (a key not listed is an error), the common scalar types.

Every schema node carries a ``description``: it is what an error message says the value must be.
"""
from __future__ import annotations

REGION_PATTERN = r"\A[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]+\Z"
ACCOUNT_PATTERN = r"\A[0-9]{12}\Z"


def string(what, pattern=None, max_length=None, min_length=None):
    """A string described by ``what`` (the message says the value \"is not <what>\"), with an optional anchored
    ``pattern`` and length bounds."""
    out = {"type": "string", "description": what}
    if pattern:
        out["pattern"] = pattern
    if max_length:
        out["maxLength"] = max_length
    if min_length:
        out["minLength"] = min_length
    return out


def closed(what, props, required=(), nullable=False, **extra):
    """A closed object: only ``props``; ``null`` too when ``nullable`` (the renderer reads it with ``or {}``)."""
    out = {"type": ["object", "null"] if nullable else "object", "description": what, "properties": props,
           "additionalProperties": False, **extra}
    if required:
        out["required"] = list(required)
    return out


def free(what, nullable=True):
    """A free-form object (eksctl or Helm checks its contents)."""
    return {"type": ["object", "null"] if nullable else "object", "description": what}


def keys(what, names, required=(), **props):
    """A closed object whose keys are ``names``, each free-form unless ``props`` describes it."""
    return closed(what, {n: props.get(n, {}) for n in names}, required=required)


BOOL = {"type": "boolean", "description": "true or false"}
SIZE = {"type": "integer", "minimum": 0, "description": "a non-negative integer"}
STR_MAP = {"type": "object", "description": "a dict of string -> string",
           "additionalProperties": {"type": "string", "description": "a string (quote numbers and booleans)"}}
STRS = {"type": "array", "description": "a list of strings", "items": {"type": "string", "description": "a string"}}
ACCOUNT = {"type": ["string", "integer"], "pattern": ACCOUNT_PATTERN, "minimum": 100000000000, "maximum": 999999999999,
           "description": "a 12-digit AWS account id (quote it to keep leading zeros)"}
