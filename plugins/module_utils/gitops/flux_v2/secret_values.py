# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Whether the Secrets the External Secrets Operator wrote hold the values stored in AWS Secrets Manager.

For each ``external-secrets.io/v1`` ExternalSecret, :func:`expected_data` predicts the Secret's ``data`` from the
Secrets Manager values, the way ESO maps them for the forms the flavour-2 render writes
(``gitops/flux_v2/external_secrets.py``):

* ``spec.data[]``: ``secretKey`` <- the secret ``remoteRef.key`` (its ``SecretString``), or, with
  ``remoteRef.property``, that key of the JSON object it holds (a string value; ESO writes it as is);
* ``spec.dataFrom[].extract.key``: every key of the JSON object, each a string value;
* ``spec.target.template`` only with ``type``, ``engineVersion``, ``metadata`` or ``mergePolicy: Replace`` (they do
  not change ``data``); the fields the CRD defaults (``conversionStrategy: Default``, ``decodingStrategy: None``,
  ``metadataPolicy: None``) at those defaults.

Anything else (another template, ``find``, generators, versions, a non-string JSON value, a conversion or decoding
strategy) is *not compared* rather than guessed. :func:`compare` checks every ExternalSecret and returns names only:
values are read to compare them and never returned, logged or put in a message.

``remote(key) -> str | None`` reads a ``SecretString`` (None: the secret does not exist); ``secret_data(namespace,
name) -> dict[str, bytes] | None`` the Secret's decoded data (None: no Secret).
"""
from __future__ import annotations

import json

from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v2.wait import secret_name

#: Template keys that leave the Secret's data as ESO fetched it (``mergePolicy`` only at its default).
PLAIN_TEMPLATE_KEYS = frozenset({"type", "engineVersion", "metadata", "mergePolicy"})
#: Reference fields the API server fills in from the CRD's defaults; at these values they change nothing.
REF_DEFAULTS = {"conversionStrategy": "Default", "decodingStrategy": "None", "metadataPolicy": "None"}
_REF_KEYS = frozenset({"key", "property"})


def _plain_ref(ref: dict) -> bool:
    """A reference by ``key`` (and ``property``) only, the defaulted fields at their defaults."""
    return all(k in _REF_KEYS or REF_DEFAULTS.get(k) == v for k, v in ref.items())


def _string(value):
    return value if isinstance(value, str) else None


def expected_data(external_secret: dict, remote) -> dict | None:
    """``{secretKey: bytes}`` ESO writes for ``external_secret``, or None when it is not predicted here (module
    docstring). A key missing from Secrets Manager gives None too: ESO would not have written the Secret."""
    spec = external_secret.get("spec") or {}
    template = (spec.get("target") or {}).get("template")
    if template and (set(template) - PLAIN_TEMPLATE_KEYS or template.get("mergePolicy", "Replace") != "Replace"):
        return None
    cache: dict = {}

    def document(key):
        if key not in cache:
            text = remote(key)
            try:
                cache[key] = (text, json.loads(text) if text is not None else None)
            except ValueError:
                cache[key] = (text, None)
        return cache[key]

    out = {}
    for item in spec.get("dataFrom") or []:
        extract = item.get("extract") if set(item) == {"extract"} else None
        if not extract or not _plain_ref(extract) or extract.get("property"):
            return None
        _text, obj = document(extract.get("key"))
        if not isinstance(obj, dict) or any(_string(v) is None for v in obj.values()):
            return None
        out.update({k: v.encode("utf-8") for k, v in obj.items()})
    for item in spec.get("data") or []:
        ref = item.get("remoteRef") or {}
        if not _plain_ref(ref) or not item.get("secretKey"):
            return None
        text, obj = document(ref.get("key"))
        if text is None:
            return None
        if ref.get("property"):
            value = _string(obj.get(ref["property"])) if isinstance(obj, dict) else None
            if value is None:
                return None
        else:
            value = text
        out[item["secretKey"]] = value.encode("utf-8")
    return out


def compare(external_secrets: list, secret_data, remote) -> dict:
    """``{"equal": [...], "differ": [...], "not_compared": [...]}``: ``<namespace>/<secret>`` names (sorted) of the
    Secrets whose data holds, byte for byte, or does not hold what Secrets Manager holds under each key ESO writes
    (keys a Secret has beyond those, e.g. kept by ``creationPolicy: Merge``, are not looked at), and of those not
    predicted here."""
    result: dict = {"equal": [], "differ": [], "not_compared": []}
    for es in external_secrets:
        namespace, name = secret_name(es)
        label = f"{namespace}/{name}"
        want = expected_data(es, remote)
        if want is None:
            result["not_compared"].append(label)
            continue
        have = secret_data(namespace, name)
        same = have is not None and {k: have.get(k) for k in want} == want
        result["equal" if same else "differ"].append(label)
    return {k: sorted(v) for k, v in result.items()}
