# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Whether the Secrets the External Secrets Operator wrote hold the values stored in AWS Secrets Manager.

For each ``external-secrets.io/v1`` ExternalSecret the flavour rendered (``external_secrets.rendered_source``:
the key mapping of ``external_secrets.manifest``, read back by rendering it again, not decoded a second time
here), :func:`expected_data` predicts the Secret's ``data``: under each key, the property of that name of the
Secrets Manager secret (a JSON object; a string value, which ESO writes as is).

Anything else (a form the flavour does not render, a non-string or missing JSON value) is *not compared* rather
than guessed. :func:`compare` checks every ExternalSecret and returns names only: values are read to compare them
and never returned, logged or put in a message.

``remote(key) -> str | None`` reads a ``SecretString`` (None: the secret does not exist); ``secret_data(namespace,
name) -> dict[str, bytes] | None`` the Secret's decoded data (None: no Secret).
"""
from __future__ import annotations

import json

from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v2 import external_secrets
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v2.wait import secret_name


def expected_data(external_secret: dict, remote) -> dict | None:
    """``{secretKey: bytes}`` ESO writes for ``external_secret``, or None when it is not predicted here (module
    docstring). A secret or a property missing from Secrets Manager gives None too: ESO would not have written the
    Secret."""
    source = external_secrets.rendered_source(external_secret)
    if source is None:
        return None
    store_id, keys = source
    text = remote(store_id)
    try:
        document = json.loads(text) if text is not None else None
    except ValueError:
        return None
    if not isinstance(document, dict) or not all(isinstance(document.get(key), str) for key in keys):
        return None
    return {key: document[key].encode("utf-8") for key in keys}


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
