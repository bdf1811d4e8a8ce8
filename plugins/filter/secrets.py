# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Filters of the secrets role: the secrets catalogue, vendor secrets, Secret manifests for git.

Errors name the input at fault and never a value.
"""
from __future__ import annotations

import base64

from ansible.errors import AnsibleFilterError

from ansible_collections.tidepool.eks.plugins.module_utils.secrets import documents
from ansible_collections.tidepool.eks.plugins.module_utils.common import naming
from ansible_collections.tidepool.eks.plugins.module_utils.config import tidepool_chart as _tidepool_chart
from ansible_collections.tidepool.eks.plugins.module_utils.secrets import catalogue


def _env_names(environments):
    if isinstance(environments, dict):
        return list(environments)
    return list(environments or [])


def _charts(environments, default_chart, filter_name, option="tidepool_chart"):
    """``{environment: chart}``: the flavour's Tidepool chart with each environment's ``chart`` override."""
    if not isinstance(default_chart, dict) or not default_chart:
        raise AnsibleFilterError(f"{filter_name}: {option} (a flavour's Tidepool chart, as "
                                 "inventory_values.gitops.tidepool_chart) is required")
    envs = environments if isinstance(environments, dict) else {env: {} for env in environments or []}
    try:
        return {env: _tidepool_chart.merge_source(default_chart, conf.get("chart") if isinstance(conf, dict) else None)
                for env, conf in envs.items()}
    except ValueError as exc:
        raise AnsibleFilterError(f"{filter_name}: {exc}") from None


def secrets_catalogue(environments, pkgs=None, exclude=None, only=None, include_vendor=True, tidepool_chart=None):
    """Secret manifests (stringData) of the catalogue for these environments, random values fresh: each
    environment's secrets contract is its Tidepool chart's (``tidepool_chart``: the flavour's chart,
    ``inventory_values.gitops.tidepool_chart``; an environment's ``chart`` overrides it).

    ``exclude``: ``<namespace>/<name>`` ids given elsewhere; ``only``: rotation subset.
    """
    charts = _charts(environments, tidepool_chart, "secrets_catalogue")
    try:
        return catalogue.manifests(_env_names(environments), pkgs or {}, exclude=exclude or (), only=only,
                                   include_vendor=include_vendor, charts=charts)
    except ValueError as exc:
        raise AnsibleFilterError(str(exc)) from None


def secrets_rotatable(environments, pkgs=None, tidepool_chart=None):
    """Ids a ``secrets_rotate`` entry may name (``tidepool_chart`` as for ``secrets_catalogue``)."""
    try:
        return catalogue.rotatable(_env_names(environments), pkgs or {},
                                   _charts(environments, tidepool_chart, "secrets_rotatable"))
    except ValueError as exc:
        raise AnsibleFilterError(f"secrets_rotatable: {exc}") from None


def secrets_vendor_manifests(vendor):
    """``secrets_vendor`` dict (``<namespace>/<name>`` -> key -> value) -> Secret manifests (stringData)."""
    try:
        return catalogue.vendor_manifests(vendor or {})
    except ValueError as exc:
        raise AnsibleFilterError(str(exc)) from None


def secret_ids(manifests):
    """``<namespace>/<name>`` of each manifest (documents without metadata are skipped)."""
    out = []
    for doc in manifests or []:
        if isinstance(doc, dict) and isinstance(doc.get("metadata"), dict):
            meta = doc["metadata"]
            out.append(f"{meta.get('namespace')}/{meta.get('name')}")
    return out


def secrets_load_files(paths):
    """Read multi-document YAML files of Secret manifests (on the controller) -> the documents."""
    import yaml
    out = []
    for path in paths or []:
        try:
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
        except OSError as exc:
            raise AnsibleFilterError(f"secrets_files: cannot read {path}: {exc.strerror}.") from None
        try:
            out += [doc for _label, doc in documents.load_documents(None, text, src_label=str(path))]
        except documents.InputError as exc:
            raise AnsibleFilterError(f"secrets_files: {exc}") from None
    return out


def secrets_git_manifests(manifests, cluster, encoding="plaintext"):
    """Validate Secret manifests (as ``external_secret`` would) -> ``[{"path": "<ns>/<name>.yaml", "manifest": {...}}]``
    with base64 ``data`` (the ``secrets_backend: git`` form)."""
    try:
        docs = documents.parse_secrets(documents.load_documents(list(manifests or [])), cluster, encoding)
    except documents.InputError as exc:
        raise AnsibleFilterError(f"secrets: {exc}") from None
    out = []
    for doc in docs:
        manifest = {"apiVersion": "v1", "kind": "Secret", "type": doc.secret_type or "Opaque",
                    "metadata": doc.metadata,
                    "data": {k: base64.b64encode(v.encode("utf-8")).decode("ascii")
                             for k, v in sorted((doc.values or {}).items())}}
        out.append({"path": f"{doc.namespace}/{doc.name}.yaml", "id": f"{doc.namespace}/{doc.name}",
                    "manifest": manifest})
    return out


def secrets_repo_dir(cluster, backend="aws"):
    """Config-repo directory (relative to the checkout) of the manifests of ``backend``."""
    return naming.external_secret_dir(str(cluster)) if backend == "aws" else naming.git_secret_dir(str(cluster))


def secrets_retired(environments, tidepool_chart=None, previous_chart=None):
    """``<namespace>/<name>`` of the environment Secrets ``previous_chart``'s contract has and ``tidepool_chart``'s
    has not (each environment's ``chart`` overrides both), :func:`catalogue.retired`."""
    try:
        return catalogue.retired(_env_names(environments),
                                 _charts(environments, previous_chart, "secrets_retired", "previous_chart"),
                                 _charts(environments, tidepool_chart, "secrets_retired"))
    except ValueError as exc:
        raise AnsibleFilterError(f"secrets_retired: {exc}") from None


class FilterModule:
    def filters(self):
        return {
            "secrets_catalogue": secrets_catalogue,
            "secrets_rotatable": secrets_rotatable,
            "secrets_retired": secrets_retired,
            "secrets_vendor_manifests": secrets_vendor_manifests,
            "secret_ids": secret_ids,
            "secrets_git_manifests": secrets_git_manifests,
            "secrets_load_files": secrets_load_files,
            "secrets_repo_dir": secrets_repo_dir,
        }
