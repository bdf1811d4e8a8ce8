# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Kubernetes Secret manifests as input of ``tidepool.eks.external_secret``: :func:`load_documents` reads them
(a list or multi-document YAML), :func:`parse_secrets` validates every document and key into :class:`SecretDoc`
before anything is written, so bad input never leaves AWS half-changed.

Exception messages name the document and key at fault, never a value.
"""
from __future__ import annotations

import base64
import binascii
import copy
import json
import re
from dataclasses import dataclass

from ansible_collections.tidepool.eks.plugins.module_utils.common import naming
from ansible_collections.tidepool.eks.plugins.module_utils.common.errors import TidepoolError

try:
    import yaml
    HAS_YAML = True
except ImportError:  # pragma: no cover
    HAS_YAML = False

ENCODINGS = ("plaintext", "encoded")
#: Kubernetes Secret data key rule (``IsConfigMapKey``).
SECRET_KEY_RE = re.compile(r"^[-._a-zA-Z0-9]+$")
#: Secrets Manager limit of a SecretString, bytes.
MAX_SECRET_STRING = 65536
#: metadata fields worth copying from a Secret into its ExternalSecret; the rest is server state.
METADATA_FIELDS = ("name", "namespace", "labels", "annotations")
#: annotations that may embed the Secret itself (values included) and must never be copied.
DROP_ANNOTATIONS = ("kubectl.kubernetes.io/last-applied-configuration",)


class InputError(TidepoolError, ValueError):
    """Invalid input; the message names the document / key at fault and never a value."""


@dataclass
class SecretDoc:
    """One Kubernetes Secret to store: id, clean metadata, plaintext values (None: no data given)."""
    namespace: str
    name: str
    secret_id: str
    metadata: dict
    values: dict | None
    source: str
    secret_type: str | None = None


def load_documents(secrets=None, src_text: str | None = None, src_label: str = "src") -> list:
    """-> ``[(label, document)]``. Empty documents and documents without metadata are skipped
    (as the original ``external_secret`` did); anything else must be a mapping."""
    docs = []
    if secrets is not None:
        if not isinstance(secrets, list):
            raise InputError("Option secrets must be a list of Kubernetes Secret manifests.")
        for index, doc in enumerate(secrets):
            docs.append((f"secrets[{index}]", doc))
    if src_text is not None:
        if not HAS_YAML:  # pragma: no cover
            raise InputError("PyYAML is required to read src.")
        try:
            loaded = list(yaml.safe_load_all(src_text))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            # The YAML error text may quote the offending line (a value): only say where.
            raise InputError(f"{src_label} is not valid YAML{where}; fix the file.") from None
        for index, doc in enumerate(loaded):
            docs.append((f"{src_label} document {index + 1}", doc))
    result = []
    for label, doc in docs:
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise InputError(f"{label} is not a mapping; each document must be a Kubernetes Secret manifest.")
        if not doc.get("metadata") and not doc.get("data") and not doc.get("stringData"):
            continue
        if doc.get("kind") == "List" and isinstance(doc.get("items"), list):
            for index, item in enumerate(doc["items"]):
                result.append((f"{label} items[{index}]", item))
            continue
        result.append((label, doc))
    return result


def _scalar_to_str(value, label: str, key: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return value
    raise InputError(f"{label}: key {key!r} must have a string value (got a {type(value).__name__}).")


def _decode(value: str, label: str, key: str) -> str:
    try:
        raw = base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise InputError(f"{label}: data key {key!r} is not valid base64; use encoding=plaintext for plain "
                         "values, or stringData.") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{label}: data key {key!r} is binary (not UTF-8 text); Secrets Manager JSON values "
                         "must be text.") from None


def parse_secrets(documents: list, cluster: str, encoding: str = "encoded", require_values: bool = True) -> list:
    """Validate documents (from :func:`load_documents`) -> ``[SecretDoc]``; raises :class:`InputError`.

    ``encoding`` applies to ``data`` (``encoded``: base64 as in a real Secret; ``plaintext``: as is);
    ``stringData`` is always plaintext and wins over ``data`` for the same key, as in Kubernetes.
    """
    if encoding not in ENCODINGS:
        raise InputError(f"Option encoding must be one of {', '.join(ENCODINGS)}, got {encoding!r}.")
    _check_cluster(cluster)
    result, seen = [], {}
    for label, doc in documents:
        kind = doc.get("kind", "Secret")
        if kind != "Secret":
            raise InputError(f"{label} is a {kind}, not a Secret.")
        api = doc.get("apiVersion", "v1")
        if api != "v1":
            raise InputError(f"{label}: apiVersion must be v1 for a Secret, got {api!r}.")
        meta = doc.get("metadata")
        if not isinstance(meta, dict):
            raise InputError(f"{label} has no metadata mapping.")
        name, namespace = meta.get("name"), meta.get("namespace")
        if not name or not isinstance(name, str):
            raise InputError(f"{label} has no metadata.name.")
        ident = f"{label} ({namespace}/{name})" if namespace else f"{label} ({name})"
        if not namespace or not isinstance(namespace, str):
            raise InputError(f"{ident} has no metadata.namespace; the Secrets Manager id is "
                             "<cluster>/<namespace>/<name>.")
        if len(name) > naming.DNS_SUBDOMAIN_MAX or not naming.DNS_SUBDOMAIN_RE.match(name):
            raise InputError(f"{ident}: metadata.name {name!r} is not a valid Kubernetes name.")
        if not naming.is_dns_label(namespace):
            raise InputError(f"{ident}: metadata.namespace {namespace!r} is not a valid namespace name.")
        sid = naming.secret_id(cluster, namespace, name)
        if sid in seen:
            raise InputError(f"{ident} repeats {namespace}/{name}, already given by {seen[sid]}.")
        seen[sid] = label
        values = None
        for section in ("data", "stringData"):
            block = doc.get(section)
            if block is None:
                continue
            if not isinstance(block, dict):
                raise InputError(f"{ident}: {section} must be a mapping of key to value.")
            values = {} if values is None else values
            for key, raw in block.items():
                if not isinstance(key, str) or not SECRET_KEY_RE.match(key) or len(key) > 253:
                    raise InputError(f"{ident}: {section} key {key!r} is not a valid Secret key "
                                     "(letters, digits, '-', '_', '.').")
                text = _scalar_to_str(raw, ident, key)
                if section == "data" and encoding == "encoded":
                    text = _decode(text, ident, key)
                values[key] = text
        if values is None and require_values:
            raise InputError(f"{ident} has neither data nor stringData.")
        if values is not None and len(serialise(values).encode("utf-8")) > MAX_SECRET_STRING:
            raise InputError(f"{ident} is larger than the {MAX_SECRET_STRING} bytes Secrets Manager stores.")
        clean = {k: copy.deepcopy(meta[k]) for k in METADATA_FIELDS if meta.get(k) not in (None, {}, "")}
        if isinstance(clean.get("annotations"), dict):
            for ann in DROP_ANNOTATIONS:
                clean["annotations"].pop(ann, None)
            if not clean["annotations"]:
                del clean["annotations"]
        result.append(SecretDoc(namespace=namespace, name=name, secret_id=sid, metadata=clean,
                                values=values, source=label, secret_type=doc.get("type")))
    return result


def _check_cluster(cluster) -> None:
    if not cluster or not isinstance(cluster, str) or not naming.CLUSTER_NAME_RE.match(cluster):
        raise InputError(f"Option cluster must be a cluster name (a letter, then letters, digits, '-'), got {cluster!r}.")


def serialise(values: dict) -> str:
    """The SecretString stored for a Secret: a JSON object, keys sorted."""
    return json.dumps(values, sort_keys=True)
