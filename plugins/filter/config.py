# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Filters of the config role: validate inventory values and render the GitOps config tree.

Each filter is documented in plugins/filter/<name>.yml: ansible-doc reads those only when this file has no
DOCUMENTATION, so it has none (tests/unit/plugins/filter/test_filter_docs.py).
"""
from __future__ import annotations

import yaml

from ansible.errors import AnsibleFilterError
from ansible_collections.tidepool.eks.plugins.module_utils.common.errors import TidepoolError
from ansible_collections.tidepool.eks.plugins.module_utils.k8s import objects as k8s_objects
from ansible_collections.tidepool.eks.plugins.module_utils.config import tree
from ansible_collections.tidepool.eks.plugins.module_utils.config import validation
from ansible_collections.tidepool.eks.plugins.module_utils.gitops import registry
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.errors import FluxBootstrapError
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v2 import bootstrap as flux_v2_bootstrap
from ansible_collections.tidepool.eks.plugins.module_utils.common import naming
from ansible_collections.tidepool.eks.plugins.module_utils.repository import commit


def _plain(obj):
    """Turn Ansible's lazy/tagged containers and strings into plain Python for PyYAML."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, bool) or obj is None:
        return obj
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        return float(obj)
    if isinstance(obj, str):
        return str(obj)
    return obj


def to_manifest_yaml(obj) -> str:
    """YAML text of one rendered object (already plain: the renderer builds it from :func:`_valid` values)."""
    return tree.GENERATED_HEADER + yaml.safe_dump(obj, sort_keys=False, default_flow_style=False, width=120)


def _errors(values, variables=None) -> list:
    try:
        return validation.validate(values, variables, flavour_of=registry.for_values)
    except TidepoolError as exc:
        raise AnsibleFilterError(str(exc)) from None


def _valid(values) -> dict:
    """``values`` as plain Python, or AnsibleFilterError listing every problem :func:`validation.validate` finds."""
    values = _plain(values)
    errors = _errors(values)
    if errors:
        raise AnsibleFilterError("invalid inventory values: " + "; ".join(errors))
    return values


def _flavour(values):
    """The GitOps flavour of valid ``values`` (their ``flux_version``, the registry's default when absent)."""
    try:
        return registry.for_values(values)
    except FluxBootstrapError as exc:
        raise AnsibleFilterError(str(exc)) from None


def config_errors(values, variables=None):
    return _errors(_plain(values), [str(v) for v in variables or ()])


def config_tree(values):
    values = _valid(values)
    return {path: to_manifest_yaml(obj) for path, obj in tree.render_tree(values, _flavour(values)).items()}


def config_render(values):
    values = _valid(values)
    rendered = tree.render(values, _flavour(values))
    return {"files": {path: to_manifest_yaml(obj) for path, obj in rendered["tree"].items()},
            "objects": rendered["objects"]}


def config_objects(values, part):
    values = _valid(values)
    return tree.objects(values, str(part), _flavour(values))


def config_managed_dirs(cluster):
    return tree.managed_dirs(str(cluster))


def config_commit_message(name_status, cluster, step="config"):
    return commit.commit_message(str(cluster), str(name_status), str(step))


def flux_system_files(cluster, components_text, git_url, branch, interval="1m0s"):
    try:
        return flux_v2_bootstrap.repository_files(naming.flux_path(str(cluster)), str(components_text), str(git_url),
                                                  str(branch), str(interval))
    except TidepoolError as exc:
        raise AnsibleFilterError(str(exc)) from None


def peering_errors(entries):
    try:
        return validation.peering_errors(_plain(entries))
    except TidepoolError as exc:
        raise AnsibleFilterError(str(exc)) from None


def object_ref(obj):
    obj = _plain(obj)
    if "metadata" not in obj:
        obj = {"apiVersion": obj.get("apiVersion"), "kind": obj.get("kind"),
               "metadata": {"namespace": obj.get("namespace"), "name": obj.get("name")}}
    return k8s_objects.ref(obj)


class FilterModule:
    def filters(self):
        return {
            "config_errors": config_errors,
            "config_tree": config_tree,
            "config_objects": config_objects,
            "config_render": config_render,
            "config_managed_dirs": config_managed_dirs,
            "config_commit_message": config_commit_message,
            "object_ref": object_ref,
            "peering_errors": peering_errors,
            "flux_system_files": flux_system_files,
        }
