# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Filter gitops_flavour: the role facts of a GitOps flavour (the fact inventory_values.gitops)."""
from __future__ import annotations

DOCUMENTATION = r"""
name: gitops_flavour
author: tidepool.eks maintainers
short_description: What roles need to know about a cluster's GitOps flavour (the fact inventory_values.gitops)
description:
  - Takes the inventory's C(flux_version) and returns the role facts of its GitOps flavour
    (C(Flavour.role_facts()) in C(plugins/module_utils/gitops/)), so that no role compares flavour numbers.
  - The role C(tidepool.eks.inventory) publishes the result once per run as C(inventory_values.gitops); every other
    role reads that fact instead of calling this filter (docs/roles.md).
  - An unsupported version fails with one message naming C(flux_version).
positional: _input
options:
  _input:
    description: The inventory's C(flux_version) (V(1), V(2) or their strings); V(null) means the default flavour (1).
    type: raw
    required: false
"""

EXAMPLES = r"""
- name: The flavour's facts (what roles/inventory/tasks/main.yml publishes as inventory_values.gitops)
  ansible.builtin.debug:
    msg: "{{ (inventory_values.flux_version | default(none)) | tidepool.eks.gitops_flavour }}"
"""

RETURN = r"""
_value:
  description: The role facts of the flavour.
  type: dict
  contains:
    version:
      description: The flavour's C(flux_version), for modules that take it and for nothing else (roles never compare it).
      type: int
    name:
      description: How messages name the flavour (C(Flux v1) or C(Flux v2)).
      type: str
    operator_namespace:
      description: Namespace of the GitOps operator (C(flux) or C(flux-system)).
      type: str
    needs_tiller_tls: {description: The install needs the Tiller server and helm-operator client certificates., type: bool}
    installs_components:
      description: The install is a pinned components file, also committed to C(clusters/<cluster>/flux/flux-system/).
      type: bool
    helm_operator:
      description: "The install is fluxd with helm-operator: it takes image overrides and fluxd flags (C(flux_extra_args))."
      type: bool
    image_overrides:
      description: Components whose image C(flux_bootstrap)'s C(images) may override (empty when none may be).
      type: list
      elements: str
    image_automation:
      description: "How image tags are followed: C(annotations) on the releases or C(controllers) (ImagePolicy objects)."
      type: str
    pushes_sync_tag:
      description: The operator writes a sync tag to the config repository (its deploy key needs write access).
      type: bool
    reports_applied_revision:
      description:
        - The operator reports the revision it applied - the flux role waits for it, and the steps leave applying the
          config repository's objects to it.
      type: bool
    migration_target: {description: C(playbooks/migrate_flux_v2.yml) moves a cluster to this flavour., type: bool}
    secret_readers:
      description: "Who reads the secrets: C(namespace) (each namespace's service account, one IAM role each) or C(controller)."
      type: str
    release_kind: {description: C(api_version) and C(kind) of the Helm release objects (what teardown deletes)., type: dict}
    secret_kind: {description: C(api_version) and C(kind) of the secret objects (ExternalSecret)., type: dict}
    applied_kinds:
      description: C(apiVersion/Kind) strings of the release and secret kinds.
      type: list
      elements: str
    deploy_key_secret:
      description: C(namespace), C(name) and C(key) of the Secret holding the config repository's deploy key.
      type: dict
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.tidepool.eks.plugins.module_utils.gitops import registry
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.errors import FluxBootstrapError


def gitops_flavour(version=None):
    """``Flavour.role_facts()`` of ``flux_version`` ``version`` (None: the registry's default flavour). Raises
    AnsibleFilterError naming ``flux_version`` for an unsupported version."""
    try:
        return registry.flavour(registry.DEFAULT_VERSION if version is None else version).role_facts()
    except FluxBootstrapError as exc:
        raise AnsibleFilterError(str(exc)) from None


class FilterModule:
    def filters(self):
        return {"gitops_flavour": gitops_flavour}
