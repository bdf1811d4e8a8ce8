#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
from __future__ import annotations

DOCUMENTATION = r"""
module: manifest_validate
short_description: Validate Kubernetes objects with a server-side dry run before they are committed
description:
  - Sends every object in O(objects) to the API server as a server-side apply with C(dryRun=All) (field manager
    C(tidepool.eks)). The server checks them against its schemas, including the CustomResourceDefinitions
    installed, so a wrong or misspelt field fails here instead of later in Flux. Nothing is written.
  - A namespaced object whose namespace does not exist yet is checked in O(fallback_namespace).
  - An object whose kind is defined by a CustomResourceDefinition that is itself in O(objects) but not installed yet
    is skipped (reported in RV(skipped)); any other kind the server does not serve is an error.
  - Fails with every error found, each naming the object.
version_added: 0.1.0
author:
  - Tidepool EKS maintainers (@tidepool-org)
extends_documentation_fragment:
  - tidepool.eks.kubernetes
options:
  objects:
    description: The objects (dicts), as rendered into the config repository.
    type: list
    elements: dict
    required: true
  fallback_namespace:
    description: Namespace to check namespaced objects in when theirs does not exist yet.
    type: str
    default: default
  skip_unreachable:
    description:
      - When the kubeconfig cannot be loaded or the API server cannot be reached, warn and validate nothing instead
        of failing; skip objects whose kind the server does not serve instead of failing (the config role's
        C(config_validate=auto), where the kubeconfig may point at a cluster that is not set up yet).
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description: The module only sends dry runs; it behaves the same in check mode.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to show.
  idempotent:
    support: full
    description: Never changes anything.
seealso:
  - module: tidepool.eks.flux_bootstrap
"""

EXAMPLES = r"""
- name: Check the rendered objects against the cluster before committing them
  tidepool.eks.manifest_validate:
    objects: "{{ rendered_objects }}"
    kubeconfig: ~/.kube/config
"""

RETURN = r"""
validated:
  description: Number of objects the server accepted.
  returned: always
  type: int
  sample: 42
skipped:
  description: Objects not checked, with the reason.
  returned: always
  type: list
  elements: str
  sample: ["VirtualService gloo-system/x: its CustomResourceDefinition is not installed yet"]
errors:
  description: Every refusal, naming the object and the server's reason (the task fails when not empty).
  returned: always
  type: list
  elements: str
  sample: ['Server-side dry run of HelmRelease qa1/tidepool was refused by the API server: .spec.chart.reff: field not declared in schema']
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tidepool.eks.plugins.module_utils.common import runner
from ansible_collections.tidepool.eks.plugins.module_utils.k8s import apply as k8s_apply
from ansible_collections.tidepool.eks.plugins.module_utils.k8s import client as k8s_client
from ansible_collections.tidepool.eks.plugins.module_utils.k8s import options as k8s_options


def main():
    module = AnsibleModule(
        argument_spec=dict(k8s_options.argument_spec(),
                           objects=dict(type="list", elements="dict", required=True),
                           fallback_namespace=dict(type="str", default="default"),
                           skip_unreachable=dict(type="bool", default=False)),
        supports_check_mode=True)
    p = module.params

    def work():
        try:
            client = k8s_client.connect(p["kubeconfig"], p["context"]).dynamic
        except k8s_client.KubeError as exc:
            if not p["skip_unreachable"]:
                raise
            return dict(changed=False, validated=0, skipped=[f"all: {exc}"], errors=[],
                        warnings=[f"Rendered objects not validated by a server: {exc}"])
        result = k8s_apply.validate_objects(k8s_apply.Applier(client), p["objects"], p["fallback_namespace"],
                                            skip_unserved=p["skip_unreachable"])
        if result["errors"]:
            raise runner.Failure(f"{len(result['errors'])} rendered object(s) refused by the API server's dry run: "
                                 + " | ".join(result["errors"]), **result)
        return dict(changed=False, **result)

    runner.run(module, work, requires=(k8s_client,),
               fields=lambda exc: dict(validated=0, skipped=[], errors=[str(exc)]))


if __name__ == "__main__":
    main()
