#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
from __future__ import annotations

DOCUMENTATION = r"""
module: flux_wait
short_description: Wait until Flux v2 has applied a commit of the config repository and every ExternalSecret's Secret exists
version_added: 0.3.0
description:
  - What C(flux reconcile kustomization flux-system --with-source) does, then a check of the Secrets. When the
    Kustomization C(flux-system/flux-system) has not applied O(revision) yet, sets the annotation
    C(reconcile.fluxcd.io/requestedAt) on the GitRepository and the Kustomization C(flux-system) (so Flux fetches and
    applies now, not at its next interval); a Kustomization at O(revision) already is left alone (no write,
    C(changed=false)).
  - Waits up to O(poll) seconds for C(status.lastAppliedRevision) to be O(revision), then for the Secret of every
    ExternalSecret (C(external-secrets.io/v1)) of the cluster to exist, and returns RV(done) false when time ran out
    (the flux role repeats the call, printing progress, up to its overall timeout).
  - An ExternalSecret whose Secret is missing and whose last sync failed (Ready C(False), e.g. Flux applied it
    before its SecretStore) gets ESO's C(force-sync) annotation (the current time in epoch seconds), at most once per
    call, so ESO syncs it now instead of after its back-off; RV(nudged) counts them (and the call reports C(changed)).
  - Fails with Flux's own message (the Ready condition of the GitRepository or the Kustomization) when Flux
    handled the request and could not fetch or apply O(revision).
  - Then waits for every other Kustomization of C(flux-system) that reads the GitRepository C(flux-system) (under
    the multi-tenancy lockdown, one per environment, the shared services, each namespace's ExternalSecrets), to
    apply O(revision) too, and fails with the Ready message of each one that could not (for example an object of
    an environment's directory in another namespace is C(forbidden)).
  - Check mode reads only (no annotation, no wait).
extends_documentation_fragment:
  - tidepool.eks.kubernetes
  - tidepool.eks.aws
options:
  revision:
    description: The commit (full or abbreviated sha) Flux has to apply; the config repository's pushed head.
    type: str
    required: true
  poll:
    description: Seconds to wait in this call.
    type: int
    default: 15
  secrets:
    description: Also wait for the Secret of every ExternalSecret.
    type: bool
    default: true
  releases:
    description:
      - Then wait for every HelmRelease (C(helm.toolkit.fluxcd.io/v2), not suspended) to be Ready at its current spec
        (C(status.observedGeneration) is C(metadata.generation)) and for every Deployment and StatefulSet its Helm
        release installed (the C(meta.helm.sh/release-name) and C(-namespace) annotations) to be Available as
        C(kubectl rollout status) judges it. RV(releases_msg) says so in one line.
      - Fails with helm-controller's message when a release is Stalled or its Ready reason says the install, upgrade,
        test or chart fetch failed (the first three named). A cluster without the HelmRelease API has nothing to
        wait for.
    type: bool
    default: false
  compare_values:
    description:
      - Once every Secret is present, read each ExternalSecret's values from AWS Secrets Manager (the runner's
        credentials and the AWS options; C(secretsmanager:GetSecretValue) on C(<cluster>/*)) and report how many
        Secrets hold them byte for byte (RV(values)). Values are compared in memory and never returned or logged.
      - Secrets that differ are reported, not a failure (after a rotation ESO catches up at its refreshInterval).
      - Only ExternalSecrets of the form the flavour-2 render writes are compared (one C(data[].remoteRef) with
        C(key) and C(property) per key, a template with C(type) only); others count as not compared.
    type: bool
    default: false
author:
  - Tidepool EKS maintainers (@tidepool-org)
"""

EXAMPLES = r"""
- name: Wait for Flux to apply the pushed commit
  tidepool.eks.flux_wait:
    revision: "{{ pushed_commit }}"
    kubeconfig: ~/.kube/config
  register: flux_applied
  until: flux_applied is failed or flux_applied.done
  retries: 20
  delay: 0
"""

RETURN = r"""
done:
  description: Flux applied O(revision), every ExternalSecret's Secret exists and, with O(releases), every
    HelmRelease is Ready and its workloads Available.
  returned: always
  type: bool
phase:
  description: C(apply) (waiting for Flux), C(kustomizations) (waiting for the other Kustomizations), C(secrets)
    (waiting for Secrets), C(releases) (waiting for HelmReleases and their workloads) or C(done).
  returned: always
  type: str
requested:
  description: The reconcile was requested (C(requestedAt) set) in this call.
  returned: always
  type: bool
nudged:
  description: ExternalSecrets given the C(force-sync) annotation in this call.
  returned: always
  type: int
values:
  description: With O(compare_values), the C(<namespace>/<secret>) names that are C(equal) to Secrets Manager, that
    C(differ), and that were C(not_compared).
  returned: when compare_values and every Secret is present
  type: dict
applied_revision:
  description: The Kustomization's lastAppliedRevision once it is O(revision), e.g. C(master@sha1:<sha>).
  returned: always
  type: str
kustomizations:
  description: How many Kustomizations besides C(flux-system) applied O(revision), e.g. C(5 Kustomizations).
  returned: once they have
  type: str
secrets_present:
  description: Secrets of ExternalSecrets that exist.
  returned: always
  type: int
secrets_total:
  description: ExternalSecrets of the cluster.
  returned: always
  type: int
missing:
  description: C(<namespace>/<secret>) not yet present, with the ExternalSecret's Ready message.
  returned: always
  type: list
  elements: str
releases_msg:
  description: With O(releases), C(N of N HelmReleases Ready, M of M Deployments / StatefulSets Available) and what
    is awaited while not all are.
  returned: when releases and every Secret is present
  type: str
releases_ready:
  description: With O(releases), HelmReleases Ready at their current spec.
  returned: when releases and every Secret is present
  type: int
releases_total:
  description: With O(releases), HelmReleases not suspended.
  returned: when releases and every Secret is present
  type: int
workloads_available:
  description: With O(releases), Deployments and StatefulSets of those releases that are Available.
  returned: when releases and every Secret is present
  type: int
workloads_total:
  description: With O(releases), Deployments and StatefulSets of those releases.
  returned: when releases and every Secret is present
  type: int
msg:
  description: C(Flux applied <revision>; N of N Secrets present), or what is awaited.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tidepool.eks.plugins.module_utils.aws import connection as aws
from ansible_collections.tidepool.eks.plugins.module_utils.common import runner
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v2 import wait_runner
from ansible_collections.tidepool.eks.plugins.module_utils.k8s import client as k8s_client
from ansible_collections.tidepool.eks.plugins.module_utils.k8s import options as k8s_options


def argument_spec() -> dict:
    spec = aws.aws_argument_spec()
    spec.update(k8s_options.argument_spec(), revision=dict(type="str", required=True), poll=dict(type="int", default=15),
                secrets=dict(type="bool", default=True), compare_values=dict(type="bool", default=False),
                releases=dict(type="bool", default=False))
    return spec


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    p = module.params
    runner.run(module, lambda: wait_runner.run(p, check_mode=module.check_mode),
               requires=(k8s_client, aws) if p["compare_values"] else (k8s_client,),
               errors=(aws.AwsError,), unexpected="flux_wait")


if __name__ == "__main__":
    main()
