#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
from __future__ import annotations

DOCUMENTATION = r"""
module: preflight
short_description: Check that the servers a step needs answer, before the step changes anything
version_added: 0.2.0
description:
  - Internal helper of the collection's playbooks, run first by every step that talks to AWS or to the cluster
    (once per ansible-playbook run and server; playbooks/tasks/aws_preflight.yml skips a server that answered for
    an earlier step of the same run).
  - With O(kubernetes=true), asks the API server of O(kubeconfig) / O(context) for its version; with O(aws=true),
    looks for AWS credentials (no network call) and, when there are some, calls STS GetCallerIdentity once (no
    retries) through the shared AWS connection options. No credentials at all is not an error; RV(aws.credentials)
    is then false and the caller decides (the playbooks end the step with a warning, or fail when
    C(aws_credentials_required)).
  - With O(account), the AWS account of the credentials must be that one (the inventory's C(aws.accountNumber)).
  - "With O(cluster) and O(kubernetes=true), the context is resolved once from the kubeconfig (O(context), else
    for O(cluster_provider=eksctl) the context of the cluster entry C(<cluster>.<region>.eksctl.io) eksctl
    writes, else the kubeconfig's current context) and returned as RV(kubernetes.context), and the kubeconfig is
    checked to be the inventory's cluster before any request. For EKS (O(cluster_provider=eksctl), or
    O(eks=true)), its server URL and CA data must equal the cluster's DescribeCluster endpoint and certificate
    authority; elsewhere its server URL must equal O(kubernetes_api_server) when given, and the C(kube-system)
    namespace's UID must equal O(cluster_uid) when given."
  - Fails with one message naming the unreachable server (its URL, and for Kubernetes the kubeconfig and
    context) and what to check, or naming both sides of a wrong account or cluster. Reads only.
extends_documentation_fragment:
  - tidepool.eks.aws
  - tidepool.eks.kubernetes
  - tidepool.eks.attributes.read_only
options:
  kubernetes:
    description: Check the Kubernetes API server.
    type: bool
    default: false
  aws:
    description: Check the AWS endpoint (STS GetCallerIdentity).
    type: bool
    default: false
  aws_credentials_required:
    description:
      - With O(aws=true) and no AWS credentials configured at all, fail (naming O(host)) instead of returning
        RV(aws.credentials=false) with a warning that the steps calling AWS end here for this host.
    type: bool
    default: false
  host:
    description: Inventory host name the messages name (the collection's playbooks pass C(inventory_hostname)).
    type: str
  account:
    description:
      - AWS account id the credentials must belong to (the inventory's C(aws.accountNumber)); a mismatch fails,
        naming both. Not checked when empty.
    type: str
  cluster:
    description:
      - Name of the inventory's cluster (C(cluster.metadata.name)). With O(kubernetes=true), resolve the context
        of the cluster and check that the kubeconfig points at it (see the description).
    type: str
  cluster_provider:
    description: How the cluster is made (the inventory's C(cluster_provider)).
    type: str
    choices: [eksctl, existing]
    default: existing
  eks:
    description: With O(cluster_provider=existing), the cluster is an EKS cluster; check it like O(cluster_provider=eksctl).
    type: bool
    default: false
  kubernetes_api_server:
    description:
      - URL of the API server of the inventory's cluster (inventory key C(kubernetes_api_server)), for
        O(cluster_provider=existing); the kubeconfig's server must equal it.
    type: str
  cluster_uid:
    description:
      - UID of the cluster's C(kube-system) namespace recorded on the first run; the API server must answer it.
    type: str
  unreachable_ok:
    description:
      - With O(cluster), an API server that cannot be reached (or, for eksctl, a cluster without a context yet)
        is not an error; RV(kubernetes.reachable) is then false. A wrong cluster always fails.
    type: bool
    default: false
  timeout:
    description: Seconds to wait for each server's answer.
    type: int
    default: 10
author:
  - Tidepool EKS maintainers (@tidepool-org)
"""

EXAMPLES = r"""
- name: Check the API server and the AWS endpoint
  tidepool.eks.preflight:
    kubernetes: true
    kubeconfig: ~/.kube/config
    aws: true
    region: us-east-1
"""

RETURN = r"""
kubernetes:
  description: The API server that answered.
  returned: when O(kubernetes=true)
  type: dict
  contains:
    server:
      description: URL of the API server.
      type: str
    version:
      description: Its Kubernetes version (gitVersion).
      type: str
    context:
      description: The context of the kubeconfig that is the inventory's cluster (with O(cluster)).
      type: str
    kubeconfig:
      description: Path of the kubeconfig (with O(cluster)).
      type: str
    uid:
      description: UID of the C(kube-system) namespace (with O(cluster)).
      type: str
    reachable:
      description: False when O(unreachable_ok) and the server could not be reached; the other keys but RV(kubernetes.reason) are then absent.
      type: bool
    reason:
      description: Why the server could not be reached (with RV(kubernetes.reachable=false)).
      type: str
aws:
  description: The AWS endpoint that answered and the identity it saw.
  returned: when O(aws=true)
  type: dict
  contains:
    credentials:
      description: Whether any AWS credentials are configured; the other keys are returned only when true.
      type: bool
    endpoint:
      description: Endpoint URL of STS.
      type: str
    region:
      description: Region of the call.
      type: str
    account:
      description: AWS account id of the credentials.
      type: str
    arn:
      description: ARN of the calling identity.
      type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tidepool.eks.plugins.module_utils.aws import connection as aws
from ansible_collections.tidepool.eks.plugins.module_utils.common import runner
from ansible_collections.tidepool.eks.plugins.module_utils.preflight import checks as preflight
from ansible_collections.tidepool.eks.plugins.module_utils.k8s import options as k8s_options


def main():
    module = AnsibleModule(
        argument_spec=dict(
            aws.aws_argument_spec(),
            **k8s_options.argument_spec(),
            kubernetes=dict(type="bool", default=False),
            aws=dict(type="bool", default=False),
            aws_credentials_required=dict(type="bool", default=False),
            host=dict(type="str"),
            account=dict(type="str"),
            cluster=dict(type="str"),
            cluster_provider=dict(type="str", choices=["eksctl", "existing"], default="existing"),
            eks=dict(type="bool", default=False),
            kubernetes_api_server=dict(type="str"),
            cluster_uid=dict(type="str"),
            unreachable_ok=dict(type="bool", default=False),
            timeout=dict(type="int", default=10),
        ),
        supports_check_mode=True,
    )
    p = module.params
    result = {}

    def work():
        if p["aws"]:
            result["aws"] = preflight.check_aws(p, p["timeout"])
            if not result["aws"]["credentials"]:
                message = preflight.no_credentials_message(p["host"], p["region"], p["aws_credentials_required"])
                if p["aws_credentials_required"]:
                    raise runner.Failure(message, **result)
                module.warn(message)
            preflight.check_account(result["aws"], p["account"], p["host"])
        if p["kubernetes"] and p["cluster"]:
            result["kubernetes"] = preflight.check_cluster(p, p["timeout"])
            if not result["kubernetes"]["reachable"]:
                module.warn(f"The cluster of {p['host'] or p['cluster']} is not checked: "
                            f"{result['kubernetes']['reason']}")
        elif p["kubernetes"]:
            result["kubernetes"] = preflight.check_kubernetes(p["kubeconfig"], p["context"], p["timeout"])
        return dict(changed=False, **result)

    runner.run(module, work, errors=(preflight.PreflightError,), fields=lambda exc: result)


if __name__ == "__main__":
    main()
