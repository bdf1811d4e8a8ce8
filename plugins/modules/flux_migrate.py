#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
from __future__ import annotations

DOCUMENTATION = r"""
---
module: flux_migrate
short_description: One cluster-side step of the move from Flux v1 (flavour 1) to Flux v2 (flavour 2)
version_added: 0.2.0
description:
  - The cluster-side steps of C(playbooks/migrate_flux_v2.yml) (C(docs/howto/migrate-flux-v2.md)); the render, push
    and Flux v2 install between them are the C(config) and C(flux) roles'. Each step reads the cluster, checks its
    preconditions before any write, acts, and waits until the cluster shows the result; a step whose work is done
    changes nothing, so every step may be run again.
  - V(preflight) reads only; it fails when the cluster runs neither flavour, or when Tiller still holds Helm 2
    release records (ConfigMaps or Secrets labelled C(OWNER=TILLER) in O(namespace)) of a release that has no Helm 3
    record, naming each one and its C(helm 2to3 convert) command (unless O(helm2_converted)).
  - V(stop) scales the Deployments C(flux) and C(flux-helm-operator) to zero and waits until they run no pod;
    V(resume) scales them back to one (the way back before step 7).
  - V(release_secrets) deletes each kubernetes-external-secrets ExternalSecret with C(propagationPolicy=Orphan) and
    waits until the garbage collector has removed its owner reference from the Secret, which stays with its values.
  - V(adopt_secrets) waits until each C(external-secrets.io/v1) ExternalSecret is Ready and controls its Secret (the
    External Secrets Operator's Owner policy updates the existing Secret in place); a Secret the operator does not
    watch yet gets its C(reconcile.external-secrets.io/managed) label so that it reconciles at once.
  - V(releases) deletes each Flux v1 (helm-operator) HelmRelease, only while helm-operator runs no pod (helm-operator
    uninstalls a release when it sees its HelmRelease deleted); one without a C(helm.toolkit.fluxcd.io/v2)
    counterpart of the same release name and namespace is named in a warning, its release left installed.
  - V(remove) removes the Flux v1 install (fluxd, memcached, helm-operator, Tiller, the deploy key Secret), the
    O(retired_secrets) and, with O(remove_crds), the CustomResourceDefinitions of flavour 1; it refuses while objects
    of those kinds remain.
  - Check mode writes nothing and reports the plan; C(--diff) shows each change, Secret values hidden.
author:
  - Tidepool EKS maintainers (@tidepool-org)
extends_documentation_fragment:
  - tidepool.eks.kubernetes
options:
  cluster:
    description: Cluster name (the instance label of the Flux v1 install).
    type: str
    required: true
  step:
    description: The step to run.
    type: str
    required: true
    choices: [preflight, stop, resume, release_secrets, adopt_secrets, releases, remove]
  namespace:
    description: Namespace of the Flux v1 install and of Tiller.
    type: str
    default: flux
  helm2_converted:
    description:
      - V(preflight) only. Go on although Tiller holds records of releases without a Helm 3 record in this cluster
        (they were converted in another way); helm-controller installs any release it does not find.
    type: bool
    default: false
  keep_namespace:
    description:
      - V(remove) only. Keep O(namespace) (flavour 2 renders objects into it, such as the fluxcloud Provider and
        Alert); the deploy key Secret is deleted either way.
    type: bool
    default: false
  remove_crds:
    description: V(remove) only. Delete the CustomResourceDefinitions of flavour 1 once none of their objects is left.
    type: bool
    default: true
  expect_secrets:
    description:
      - V(adopt_secrets) only. Secrets (C(<namespace>/<name>)) that must end up owned by an External Secrets Operator
        ExternalSecret, the ones kubernetes-external-secrets wrote (RV(kes_secrets) of V(preflight)). The step waits
        until each one has its ExternalSecret, so it does not finish before Flux v2 has applied them.
    type: list
    elements: str
    default: []
  retired_secrets:
    description:
      - V(remove) only. Secrets (C(<namespace>/<name>)) the Tidepool chart of flavour 1 reads and the chart of flavour 2
        does not (the filter C(tidepool.eks.secrets_retired); chart 0.1.7 to 0.26.0 retires C(carelink), C(image),
        C(mailchimp), C(notification), C(user)). No ExternalSecret of flavour 2 writes them, so V(adopt_secrets) must not
        expect them. Each one is deleted unless a controller owns it or a Pod still reads it (then it stays, named in a
        warning). Their values stay in AWS Secrets Manager.
    type: list
    elements: str
    default: []
  wait_timeout:
    description: Seconds each wait of a step may take.
    type: int
    default: 300
notes:
  - Secret values never appear in the result or the diff.
seealso:
  - module: tidepool.eks.flux_bootstrap
"""

EXAMPLES = r"""
- name: Preflight of the migration
  tidepool.eks.flux_migrate:
    cluster: test1
    step: preflight
  register: migrate_preflight

- name: Stop Flux v1 and helm-operator
  tidepool.eks.flux_migrate:
    cluster: test1
    step: stop
"""

RETURN = r"""
step:
  description: The step that ran.
  returned: always
  type: str
phase:
  description: V(preflight) only. V(flavour1) (Flux v1 installed), V(migrating) (objects of flavour 1 left) or V(done).
  returned: success and step is preflight
  type: str
tiller:
  description: V(preflight) only. C(releases) (release name to its record revisions) and C(unconverted).
  returned: success and step is preflight
  type: dict
counts:
  description: V(preflight) only. How many HelmReleases and ExternalSecrets of each flavour the cluster holds.
  returned: success and step is preflight
  type: dict
deploy_key_v1:
  description: V(preflight) only. C(public_key) and C(fingerprint) of the Flux v1 deploy key; null when it is gone.
  returned: success and step is preflight
  type: dict
kes_secrets:
  description: V(preflight) only. The Secrets kubernetes-external-secrets ExternalSecrets write (C(<namespace>/<name>)).
  returned: success and step is preflight
  type: list
  elements: str
workloads:
  description: V(stop) and V(resume). One entry per Deployment (C(name), C(from), C(to), C(action)).
  returned: success and step is stop or resume
  type: list
  elements: dict
external_secrets:
  description: V(release_secrets). The ExternalSecrets acted on and their Secrets.
  returned: success and step is release_secrets
  type: list
  elements: dict
secrets:
  description: V(adopt_secrets). The Secrets (C(<namespace>/<name>)) that were not taken over when the step started.
  returned: success and step is adopt_secrets
  type: list
  elements: str
helmreleases:
  description: V(releases). Each v1 HelmRelease, its release (C(<namespace>/<name>)) and its v2 counterpart.
  returned: success and step is releases
  type: list
  elements: dict
objects:
  description: V(remove). Each object of flavour 1 and the action taken (C(delete) or C(none)).
  returned: success and step is remove
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tidepool.eks.plugins.module_utils.common import runner
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.migrate import kube as migrate_kube
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.migrate import steps
from ansible_collections.tidepool.eks.plugins.module_utils.k8s import client as k8s_client
from ansible_collections.tidepool.eks.plugins.module_utils.k8s import options as k8s_options

CORE_OPTIONS = ("cluster", "namespace", "helm2_converted", "keep_namespace", "remove_crds", "expect_secrets",
                "retired_secrets",
                "wait_timeout")


def argument_spec() -> dict:
    spec = dict(
        cluster=dict(type="str", required=True),
        step=dict(type="str", required=True, choices=list(steps.STEPS)),
        namespace=dict(type="str", default="flux"),
        helm2_converted=dict(type="bool", default=False),
        keep_namespace=dict(type="bool", default=False),
        remove_crds=dict(type="bool", default=True),
        expect_secrets=dict(type="list", elements="str", default=[], no_log=False),
        retired_secrets=dict(type="list", elements="str", default=[], no_log=False),
        wait_timeout=dict(type="int", default=300),
    )
    spec.update(k8s_options.argument_spec())
    return spec


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    p = module.params

    def work():
        kube = migrate_kube.Kube(k8s_client.connect(p["kubeconfig"], p["context"]).dynamic)
        return steps.run(p["step"], kube, {k: p[k] for k in CORE_OPTIONS}, module.check_mode)

    runner.run(module, work, requires=(k8s_client,), unexpected="flux_migrate")


if __name__ == "__main__":
    main()
