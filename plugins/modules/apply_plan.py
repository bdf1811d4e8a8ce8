#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
from __future__ import annotations

DOCUMENTATION = r"""
module: apply_plan
short_description: Work out which rendered objects a server-side apply would change, and which are orphans
version_added: 0.2.0
description:
  - Internal helper of the C(config) role's apply tasks (clusters without Flux). Reads the cluster, changes
    nothing; C(kubernetes.core.k8s) then applies only the objects this module returns in RV(apply).
  - Probes the API server first and fails with one message naming the server URL, the kubeconfig and its
    context when it cannot be reached.
  - Fails with one message naming the input when the objects cannot be rendered or read.
  - Reads one LIST per kind (label selector of the cluster, see O(cluster)), so a run where nothing changed costs
    the same for 1 or 20 Tidepool environments.
  - An object is unchanged when every field it sets is on the live object with the same value and the fields
    the field manager C(tidepool.eks) owns there are exactly the fields it sets (a field removed from the
    inventory is a change, since server-side apply removes it).
  - In check mode, objects in a namespace that does not exist yet (one the same run creates) are returned in
    RV(create_later) instead of RV(apply); the API server cannot dry-run them.
  - Live objects labelled for this cluster and part but no longer rendered are returned in RV(orphans).
extends_documentation_fragment:
  - tidepool.eks.kubernetes
options:
  cluster:
    description: Cluster name (inventory C(cluster.metadata.name)), value of the label C(tidepool.org/cluster).
    type: str
    required: true
  part:
    description:
      - Part of the config repository the objects come from (C(cluster), C(shared), C(environments),
        C(external-secrets)), value of the label C(tidepool.org/config-part). Namespaces always get C(cluster);
        several parts apply the same Namespace objects.
    type: str
    required: true
  objects:
    description:
      - The objects to apply (Kubernetes manifests as dicts), in apply order.
      - Exactly one of O(objects), O(values) and O(objects_dir) is required.
    type: list
    elements: dict
  values:
    description:
      - The inventory values (keys of the install guide's C(values.yaml), as the C(config) role collects them);
        the module renders the objects of O(part) itself (C(plugins/module_utils/config/tree.py)), so that
        hundreds of objects are not templated and passed as task arguments.
    type: dict
  objects_dir:
    description:
      - A directory of manifest files (C(*.yaml), searched recursively, sorted by path), for example the
        ExternalSecret manifests the C(secrets) role wrote; only documents of kind O(objects_kind) are kept.
    type: path
  objects_kind:
    description: With O(objects_dir), the kind of the documents to keep.
    type: str
    default: ExternalSecret
  kinds:
    description:
      - Further kinds to look for orphans of, as C(apiVersion/Kind) strings (for example C(v1/Namespace)), beside
        the kinds of O(objects).
    type: list
    elements: str
    default: []
  timeout:
    description: Seconds to wait for the API server to answer the reachability probe.
    type: int
    default: 10
attributes:
  check_mode:
    support: full
    description: Reads only, in both modes; in check mode it also sorts out objects of namespaces not created yet.
  diff_mode:
    support: none
    description: Reads only; C(kubernetes.core.k8s) shows the diff of what it applies.
  idempotent:
    support: full
    description: Never changes anything.
author:
  - Tidepool EKS maintainers (@tidepool-org)
"""

EXAMPLES = r"""
- name: Plan the environments' objects
  tidepool.eks.apply_plan:
    kubeconfig: ~/.kube/config
    cluster: test1
    part: environments
    objects: "{{ values | tidepool.eks.config_objects('environments') }}"
  register: plan

- name: Apply what changed
  kubernetes.core.k8s:
    definition: "{{ plan.apply }}"
    apply: true
    server_side_apply:
      field_manager: tidepool.eks
      force_conflicts: true
  when: plan.apply | length > 0
"""

RETURN = r"""
apply:
  description: Objects to apply (missing or different), in the order given, with the labels of O(cluster) and O(part).
  returned: always
  type: list
  elements: dict
create_later:
  description: Check mode only; objects of namespaces that do not exist yet, which a real run would create.
  returned: always
  type: list
  elements: dict
unchanged:
  description: Number of objects already as rendered.
  returned: always
  type: int
orphans:
  description: Live objects labelled for this cluster and part that are no longer rendered.
  returned: always
  type: list
  elements: dict
  contains:
    apiVersion:
      description: API version.
      type: str
    kind:
      description: Kind.
      type: str
    namespace:
      description: Namespace, empty for cluster-scoped objects.
      type: str
    name:
      description: Name.
      type: str
server:
  description: URL of the API server.
  returned: always
  type: str
  sample: https://127.0.0.1:16443
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tidepool.eks.plugins.module_utils.common import runner
from ansible_collections.tidepool.eks.plugins.module_utils.config import tree as config_tree
from ansible_collections.tidepool.eks.plugins.module_utils.config import validation as config_validation
from ansible_collections.tidepool.eks.plugins.module_utils.gitops import registry
from ansible_collections.tidepool.eks.plugins.module_utils.k8s import client as k8s_client
from ansible_collections.tidepool.eks.plugins.module_utils.k8s import drift
from ansible_collections.tidepool.eks.plugins.module_utils.k8s import objects as k8s_objects
from ansible_collections.tidepool.eks.plugins.module_utils.k8s import options as k8s_options

try:
    from yaml import YAMLError
except ImportError:  # pragma: no cover - Ansible itself needs PyYAML
    YAMLError = OSError


def _objects(p):
    """The objects of the task: O(objects), rendered from O(values), or read from O(objects_dir)."""
    if p["objects"] is not None:
        return p["objects"]
    if p["values"] is not None:
        errors = config_validation.validate(p["values"], flavour_of=registry.for_values)
        if errors:
            raise runner.Failure("values: invalid inventory values: " + "; ".join(errors))
        try:
            return config_tree.objects(p["values"], p["part"], registry.for_values(p["values"]))
        except ValueError as exc:
            raise runner.Failure(f"part: {exc}") from None
    try:
        return k8s_objects.read_manifests(p["objects_dir"], p["objects_kind"])
    except (OSError, YAMLError) as exc:
        raise runner.Failure(f"objects_dir: cannot read the manifests under {p['objects_dir']}: {exc}") from None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            k8s_options.argument_spec(),
            cluster=dict(type="str", required=True),
            part=dict(type="str", required=True),
            objects=dict(type="list", elements="dict"),
            values=dict(type="dict"),
            objects_dir=dict(type="path"),
            objects_kind=dict(type="str", default="ExternalSecret"),
            kinds=dict(type="list", elements="str", default=[]),
            timeout=dict(type="int", default=10),
        ),
        supports_check_mode=True,
        required_one_of=[("objects", "values", "objects_dir")],
        mutually_exclusive=[("objects", "values", "objects_dir")],
    )
    p = module.params

    def work():
        bad = [k for k in p["kinds"] if "/" not in k]
        if bad:
            raise runner.Failure(f"kinds: {', '.join(bad)} must be apiVersion/Kind, for example v1/Namespace")
        objects = _objects(p)
        for i, obj in enumerate(objects):
            if not obj.get("apiVersion") or not obj.get("kind") or not (obj.get("metadata") or {}).get("name"):
                raise runner.Failure(f"objects[{i}]: apiVersion, kind and metadata.name are required")
        desired = [k8s_objects.with_labels(o, p["cluster"], p["part"]) for o in objects]
        cluster = k8s_client.connect(p["kubeconfig"], p["context"], p["timeout"])
        labelled, live, namespaces = drift.read_live(cluster.dynamic, desired, p["cluster"], p["kinds"],
                                                     namespaces=module.check_mode)
        plan = drift.plan(desired, live, namespaces, labelled=labelled, part=p["part"], check_mode=module.check_mode)
        return dict(changed=False, server=cluster.server, **plan.as_dict())

    runner.run(module, work, requires=(k8s_client,))


if __name__ == "__main__":
    main()
