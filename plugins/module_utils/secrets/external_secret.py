# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Core of ``tidepool.eks.external_secret``: Kubernetes Secret manifests <-> AWS Secrets Manager.

Plan -> diff -> apply, as plain Python (DESIGN.md "Style"):

* :func:`load_documents` / :func:`parse_secrets` validate the input (every document, every key) before
  anything is written, so bad input never leaves AWS half-changed;
* :func:`read_state` reads what exists in a few calls: ``ListSecrets`` (name-prefix filter per
  namespace, planned deletions included) for existence, deletion state and tags, then
  ``BatchGetSecretValue`` (20 ids per call) for values, only where a value comparison is needed
  (create-only mode never reads values);
* :func:`make_plan` compares parsed JSON (key order and whitespace do not matter) and decides
  create / update / restore / delete / unchanged per secret;
* :func:`plan_diff` renders ``--diff`` output with key names only (values redacted);
* :func:`apply_plan` performs the writes; :func:`sync` ties it together for the module and the benchmark.

Secret values never leave this module except in the request bodies sent to AWS: results, diffs,
warnings and exception messages carry secret ids and key names only.
"""
from __future__ import annotations

import base64
import binascii
import copy
import json
import os
import re
import tempfile
from dataclasses import dataclass, field

from ansible_collections.tidepool.eks.plugins.module_utils.common import naming
from ansible_collections.tidepool.eks.plugins.module_utils.aws.connection import AwsError, call, error_code

try:
    import yaml
    HAS_YAML = True
except ImportError:  # pragma: no cover
    HAS_YAML = False

EXTERNAL_SECRET_API_VERSION = "kubernetes-client.io/v1"
EXTERNAL_SECRET_KIND = "ExternalSecret"
BACKEND_TYPE = "secretsManager"
#: ``spec``: the kubernetes-external-secrets CRD schema (KES >= 3, validated by the API server);
#: ``secretDescriptor``: the legacy field of KES 1.x/2.x that the Tidepool helpers printed.
MANIFEST_FORMATS = ("spec", "secretDescriptor")
ENCODINGS = ("plaintext", "encoded")
#: Kubernetes Secret data key rule (``IsConfigMapKey``).
SECRET_KEY_RE = re.compile(r"^[-._a-zA-Z0-9]+$")
#: Secrets Manager limits.
MAX_SECRET_STRING = 65536
BATCH_GET_MAX = 20
LIST_FILTER_VALUES_MAX = 10
#: metadata fields worth copying from a Secret into its ExternalSecret; the rest is server state.
METADATA_FIELDS = ("name", "namespace", "labels", "annotations")
#: annotations that may embed the Secret itself (values included) and must never be copied.
DROP_ANNOTATIONS = ("kubectl.kubernetes.io/last-applied-configuration",)
REDACTED = "<redacted>"
OLD_VALUE = "<old value>"
NEW_VALUE = "<new value>"
DEFAULT_DESCRIPTION = "Kubernetes Secret {namespace}/{name}, managed by tidepool.eks"


class InputError(ValueError):
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


@dataclass
class Existing:
    """What Secrets Manager holds for one id (``value`` is None when it was not read or is not JSON)."""
    secret_id: str
    exists: bool = False
    deleted: bool = False
    value: dict | None = None
    value_read: bool = False
    value_is_object: bool = True
    tags: dict = field(default_factory=dict)
    arn: str | None = None


@dataclass
class Change:
    """One planned operation. ``actions`` is an ordered subset of create/restore/update/tag/delete."""
    secret_id: str
    doc: SecretDoc
    actions: list = field(default_factory=list)
    added: list = field(default_factory=list)
    removed: list = field(default_factory=list)
    changed: list = field(default_factory=list)
    tags_to_set: dict = field(default_factory=dict)
    value_unknown: bool = False

    @property
    def outcome(self) -> str:
        for name, outcome in (("delete", "deleted"), ("create", "created"), ("update", "updated"),
                              ("tag", "updated"), ("restore", "restored")):
            if name in self.actions:
                return outcome
        return "unchanged"


# ---------------------------------------------------------------------------------------------
# Input
# ---------------------------------------------------------------------------------------------

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
        if len(namespace) > naming.DNS_LABEL_MAX or not naming.DNS_LABEL_RE.match(namespace):
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


# ---------------------------------------------------------------------------------------------
# ExternalSecret manifests
# ---------------------------------------------------------------------------------------------

def external_secret_manifest(doc: SecretDoc, region: str | None = None, manifest_format: str = "spec",
                             role_arn: str | None = None) -> dict:
    """The kubernetes-external-secrets ``ExternalSecret`` reading ``doc`` back from Secrets Manager:
    one ``{key, name, property}`` per key, keys sorted. No value is part of it."""
    if manifest_format not in MANIFEST_FORMATS:
        raise InputError(f"Option manifest_format must be one of {', '.join(MANIFEST_FORMATS)}.")
    descriptor = {"backendType": BACKEND_TYPE}
    if region:
        descriptor["region"] = region
    if role_arn:
        descriptor["roleArn"] = role_arn
    if doc.secret_type and doc.secret_type != "Opaque" and manifest_format == "spec":
        descriptor["template"] = {"type": doc.secret_type}
    descriptor["data"] = [{"key": doc.secret_id, "name": key, "property": key} for key in sorted(doc.values or {})]
    return {
        "apiVersion": EXTERNAL_SECRET_API_VERSION,
        "kind": EXTERNAL_SECRET_KIND,
        "metadata": copy.deepcopy(doc.metadata),
        manifest_format: descriptor,
    }


def manifest_path(dest: str, doc: SecretDoc) -> str:
    """``<dest>/<namespace>/<name>.yaml``."""
    return os.path.join(dest, doc.namespace, f"{doc.name}.yaml")


def dump_manifest(manifest: dict) -> str:
    return "---\n" + yaml.safe_dump(manifest, default_flow_style=False, sort_keys=False)


# ---------------------------------------------------------------------------------------------
# Reading state
# ---------------------------------------------------------------------------------------------

def read_state(client, cluster: str, docs: list, want_values: set) -> dict:
    """-> ``{secret_id: Existing}`` for every doc.

    ``ListSecrets`` with a name-prefix filter per namespace (planned deletions included) gives
    existence, deletion state and tags; ``BatchGetSecretValue`` then reads the values of the ids in
    ``want_values`` that exist and are not scheduled for deletion.
    """
    wanted = {d.secret_id for d in docs}
    state = {sid: Existing(sid) for sid in wanted}
    prefixes = sorted({f"{cluster}/{d.namespace}/" for d in docs})
    for start in range(0, len(prefixes), LIST_FILTER_VALUES_MAX):
        chunk = prefixes[start:start + LIST_FILTER_VALUES_MAX]
        token = None
        while True:
            kwargs = {"Filters": [{"Key": "name", "Values": chunk}], "IncludePlannedDeletion": True,
                      "MaxResults": 100}
            if token:
                kwargs["NextToken"] = token
            page = call(client, "list_secrets", f"{cluster}/ ({len(chunk)} namespaces)", **kwargs)
            for entry in page.get("SecretList", []):
                sid = entry.get("Name")
                if sid in state:  # the name filter is a case-insensitive prefix match: keep exact names
                    state[sid] = Existing(sid, exists=True, deleted=bool(entry.get("DeletedDate")),
                                          tags={t["Key"]: t.get("Value", "") for t in entry.get("Tags") or []},
                                          arn=entry.get("ARN"))
            token = page.get("NextToken")
            if not token:
                break
    to_read = sorted(sid for sid in want_values if sid in state and state[sid].exists and not state[sid].deleted)
    for start in range(0, len(to_read), BATCH_GET_MAX):
        chunk = to_read[start:start + BATCH_GET_MAX]
        resp = call(client, "batch_get_secret_value", f"{len(chunk)} secrets from {chunk[0]}", SecretIdList=chunk)
        for entry in resp.get("SecretValues", []):
            sid = entry.get("Name")
            if sid not in state:
                continue
            _store_value(state[sid], entry)
        for err in resp.get("Errors", []):
            sid, code = err.get("SecretId"), err.get("ErrorCode")
            if code == "ResourceNotFoundException" and sid in state:
                state[sid] = Existing(sid)  # deleted between the two calls
                continue
            if code == "InvalidRequestException" and sid in state:
                state[sid].deleted = True  # scheduled for deletion between the two calls
                continue
            raise AwsError(f"secretsmanager.BatchGetSecretValue on {sid} failed: {code}: "
                           f"{(err.get('Message') or '').rstrip('.')}.", code=code,
                           operation="secretsmanager.BatchGetSecretValue")
    return state


def _store_value(existing: Existing, entry: dict) -> None:
    existing.value_read = True
    text = entry.get("SecretString")
    if text is None:
        existing.value, existing.value_is_object = None, False
        return
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        existing.value, existing.value_is_object = parsed, True
    else:
        existing.value, existing.value_is_object = None, False


# ---------------------------------------------------------------------------------------------
# Planning
# ---------------------------------------------------------------------------------------------

def make_plan(docs: list, state: dict, present: bool = True, overwrite: bool = True, tags: dict | None = None,
              force_delete: bool = False) -> list:
    """-> ``[Change]`` in input order. Pure function of the input and :func:`read_state`'s result."""
    tags = {str(k): str(v) for k, v in (tags or {}).items()}
    plan = []
    for doc in docs:
        cur = state.get(doc.secret_id) or Existing(doc.secret_id)
        ch = Change(doc.secret_id, doc)
        if not present:
            if cur.exists and (not cur.deleted or force_delete):
                ch.actions.append("delete")
            plan.append(ch)
            continue
        desired = doc.values or {}
        if not cur.exists:
            ch.actions.append("create")
            ch.added = sorted(desired)
            ch.tags_to_set = dict(tags)
            plan.append(ch)
            continue
        if cur.deleted:
            ch.actions.append("restore")
            if overwrite:
                # The value of a secret scheduled for deletion cannot be read before it is restored.
                ch.actions.append("update")
                ch.value_unknown = True
                ch.changed = sorted(desired)
        elif overwrite:
            if not cur.value_read:
                raise AwsError(f"internal error: the value of {doc.secret_id} was not read.")
            if not cur.value_is_object:
                ch.actions.append("update")
                ch.value_unknown = True
                ch.changed = sorted(desired)
            else:
                old = cur.value or {}
                ch.added = sorted(k for k in desired if k not in old)
                ch.removed = sorted(k for k in old if k not in desired)
                ch.changed = sorted(k for k in desired if k in old and old[k] != desired[k])
                if ch.added or ch.removed or ch.changed:
                    ch.actions.append("update")
        if overwrite or cur.deleted:
            missing = {k: v for k, v in tags.items() if cur.tags.get(k) != v}
            if missing:
                ch.actions.append("tag")
                ch.tags_to_set = missing
        plan.append(ch)
    return plan


def summarise(plan: list) -> dict:
    out = {"created": [], "updated": [], "restored": [], "unchanged": [], "deleted": []}
    for ch in plan:
        outcome = ch.outcome
        out[outcome].append(ch.secret_id)
        if outcome != "restored" and "restore" in ch.actions:
            out["restored"].append(ch.secret_id)
    return out


def plan_diff(plan: list) -> list:
    """Ansible ``diff`` entries (one per changed secret) showing key names only; values redacted.

    Unchanged keys show ``<redacted>`` on both sides, changed keys ``<old value>`` -> ``<new value>``.
    """
    diffs = []
    for ch in plan:
        if not ch.actions:
            continue
        header = f"secretsmanager:{ch.secret_id}"
        desired = sorted((ch.doc.values or {}).keys())
        if "delete" in ch.actions:
            diffs.append({"before_header": header, "after_header": header + " (deleted)",
                          "before": {"state": "present"}, "after": {"state": "absent"}})
            continue
        if "create" in ch.actions:
            before = {"state": "absent"}
            after = {"state": "present", "keys": {k: NEW_VALUE for k in desired}}
        else:
            before = {"state": "scheduled for deletion" if "restore" in ch.actions else "present", "keys": {}}
            after = {"state": "present", "keys": {}}
            if ch.value_unknown:
                before["keys"] = {"(unknown)": OLD_VALUE}
                after["keys"] = {k: NEW_VALUE for k in desired}
            else:
                for k in sorted(set(desired) | set(ch.removed)):
                    if k in ch.added:
                        after["keys"][k] = NEW_VALUE
                    elif k in ch.removed:
                        before["keys"][k] = OLD_VALUE
                    elif k in ch.changed:
                        before["keys"][k], after["keys"][k] = OLD_VALUE, NEW_VALUE
                    else:
                        before["keys"][k] = after["keys"][k] = REDACTED
                if not before["keys"] and not after["keys"] and "update" not in ch.actions:
                    before.pop("keys"), after.pop("keys")
        if ch.tags_to_set:
            after["tags"] = dict(sorted(ch.tags_to_set.items()))
        diffs.append({"before_header": header, "after_header": header, "before": before, "after": after})
    return diffs


# ---------------------------------------------------------------------------------------------
# Applying
# ---------------------------------------------------------------------------------------------

def apply_plan(client, plan: list, kms_key_id: str | None = None, description: str | None = None,
               recovery_window: int = 30, force_delete: bool = False) -> None:
    """Perform the writes of ``plan`` (botocore retries throttling; any other error stops with one sentence)."""
    for ch in plan:
        sid, values = ch.secret_id, ch.doc.values or {}
        for action in ch.actions:
            if action == "create":
                kwargs = {"Name": sid, "SecretString": serialise(values),
                          "Description": description or DEFAULT_DESCRIPTION.format(namespace=ch.doc.namespace,
                                                                                   name=ch.doc.name)}
                if kms_key_id:
                    kwargs["KmsKeyId"] = kms_key_id
                if ch.tags_to_set:
                    kwargs["Tags"] = [{"Key": k, "Value": v} for k, v in sorted(ch.tags_to_set.items())]
                call(client, "create_secret", sid, **kwargs)
            elif action == "restore":
                call(client, "restore_secret", sid, SecretId=sid)
            elif action == "update":
                call(client, "put_secret_value", sid, SecretId=sid, SecretString=serialise(values))
            elif action == "tag":
                call(client, "tag_resource", sid, SecretId=sid,
                     Tags=[{"Key": k, "Value": v} for k, v in sorted(ch.tags_to_set.items())])
            elif action == "delete":
                kwargs = {"SecretId": sid}
                if force_delete or recovery_window == 0:
                    kwargs["ForceDeleteWithoutRecovery"] = True
                else:
                    kwargs["RecoveryWindowInDays"] = recovery_window
                try:
                    call(client, "delete_secret", sid, **kwargs)
                except AwsError as exc:
                    if error_code(exc) != "ResourceNotFoundException":
                        raise


# ---------------------------------------------------------------------------------------------
# Manifest files
# ---------------------------------------------------------------------------------------------

def plan_files(docs: list, manifests: list, dest: str, present: bool = True) -> list:
    """-> ``[(path, new_text or None (remove), old_text or None (absent))]`` of files that differ."""
    out = []
    for doc, manifest in zip(docs, manifests):
        path = manifest_path(dest, doc)
        old = None
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as fh:
                old = fh.read()
        new = dump_manifest(manifest) if present else None
        if old != new:
            out.append((path, new, old))
    return out


def write_files(changes: list, mode: int = 0o644) -> None:
    for path, new, _old in changes:
        if new is None:
            if os.path.exists(path):
                os.unlink(path)
            continue
        directory = os.path.dirname(path)
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".yaml")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(new)
            os.chmod(tmp, mode)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise


def files_diff(changes: list) -> list:
    return [{"before_header": path, "after_header": path, "before": old or "", "after": new or ""}
            for path, new, old in changes]


# ---------------------------------------------------------------------------------------------
# One call for the module shell and the benchmark
# ---------------------------------------------------------------------------------------------

def sync(client, cluster: str, docs: list, *, state: str = "present", overwrite: bool = True,
         check_mode: bool = False, tags: dict | None = None, kms_key_id: str | None = None,
         description: str | None = None, recovery_window: int = 30, force_delete: bool = False,
         dest: str | None = None, region: str | None = None, manifest_format: str = "spec",
         role_arn: str | None = None) -> dict:
    """Read, plan, (unless ``check_mode``) apply; -> the module result (no values in it)."""
    present = state == "present"
    if not present and not (force_delete or recovery_window == 0) and not 7 <= recovery_window <= 30:
        raise InputError(f"Option recovery_window must be 0 (delete now) or 7 to 30 days, got {recovery_window}.")
    want_values = {d.secret_id for d in docs} if present and overwrite else set()
    current = read_state(client, cluster, docs, want_values) if docs else {}
    plan = make_plan(docs, current, present=present, overwrite=overwrite, tags=tags, force_delete=force_delete)
    manifests = [external_secret_manifest(d, region=region, manifest_format=manifest_format, role_arn=role_arn)
                 for d in docs] if present else []
    file_changes = plan_files(docs, manifests or [None] * len(docs), dest, present) if dest else []
    if not check_mode:
        apply_plan(client, plan, kms_key_id=kms_key_id, description=description,
                   recovery_window=recovery_window, force_delete=force_delete)
        if file_changes:
            write_files(file_changes)
    result = summarise(plan)
    result["changed"] = any(ch.actions for ch in plan) or bool(file_changes)
    result["manifests"] = manifests
    result["files"] = [path for path, _new, _old in file_changes]
    result["diff"] = plan_diff(plan) + files_diff(file_changes)
    return result
