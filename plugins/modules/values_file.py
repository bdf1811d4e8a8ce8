#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
from __future__ import annotations

DOCUMENTATION = r"""
module: values_file
short_description: Read a cluster's values file (the install guide's values.yaml keys) as data
version_added: 0.3.0
author:
  - Tidepool EKS maintainers (@tidepool-org)
description:
  - Internal helper of the C(inventory) role. Reads the values file of an inventory host (default
    C(inventories/values/<host>.yml)) as data, never as Ansible variables. Nothing in it is templated (a
    C({{ ... }}) stays text, and ansible-core treats module results as untrusted), and only the values keys
    (C(email), C(aws), C(kubeconfig), C(logLevel), C(cluster), C(pkgs), C(environments), C(certificates),
    C(flux_version), C(cluster_privileged_settings)) are accepted, so the file cannot set a role variable such as
    C(confirm_delete).
  - "PyYAML's safe loader, with: a size bound (1 MiB), no YAML aliases (a nested-alias file is refused at its
    first alias), no key written twice, plain data only. Each refusal is one message naming the file (and the
    line or the key path)."
  - Refuses an inventory in the old layout first (values files under O(legacy_dirs), or values keys set as host
    or group variables, O(variables)), telling where to move the file.
  - The keys are only read here; the C(inventory) role validates them against the schema.
extends_documentation_fragment:
  - tidepool.eks.attributes.read_only
options:
  path:
    description: Path of the values file (on the controller).
    type: path
    required: true
  host:
    description: Inventory host the messages name.
    type: str
    required: true
  legacy_dirs:
    description: The C(host_vars/<host>) directories of the old layout; a C(values.yml) / C(values.yaml) in one is refused.
    type: list
    elements: path
    default: []
  variables:
    description: Values keys the role found set as host or group variables (the old layout); refused.
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
# What the inventory role does first (roles/inventory/tasks/main.yml)
- name: Read the values of the cluster as data
  tidepool.eks.values_file:
    path: "{{ inventory_dir }}/values/{{ inventory_hostname }}.yml"
    host: "{{ inventory_hostname }}"
  register: values_read  # values_read.data
"""

RETURN = r"""
data:
  description: The values keys of the file (a dict; only the keys the file sets).
  returned: success
  type: dict
path:
  description: The path read.
  returned: success
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tidepool.eks.plugins.module_utils.common import runner
from ansible_collections.tidepool.eks.plugins.module_utils.config import values_file


#: The options (DOCUMENTATION); the module only reads, so check mode runs it the same.
ARGUMENT_SPEC = {
    "path": {"type": "path", "required": True},
    "host": {"type": "str", "required": True},
    "legacy_dirs": {"type": "list", "elements": "path", "default": []},
    "variables": {"type": "list", "elements": "str", "default": []},
}


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    p = module.params

    def work():
        found = values_file.legacy_files(p["legacy_dirs"])
        if found or p["variables"]:
            raise values_file.ValuesFileError(values_file.legacy_message(p["host"], found, p["variables"], p["path"]))
        return dict(changed=False, path=p["path"], data=values_file.load(p["path"]))

    def checked():
        try:
            return work()
        except values_file.ValuesFileError as exc:
            raise values_file.ValuesFileError(f"Invalid inventory for {p['host']} (nothing was changed): {exc}") from None

    runner.run(module, checked, requires=(values_file,))


if __name__ == "__main__":
    main()
