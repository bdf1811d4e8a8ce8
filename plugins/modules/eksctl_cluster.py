#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
from __future__ import annotations

DOCUMENTATION = r"""
module: eksctl_cluster
short_description: Create, reconcile and delete an EKS cluster from an eksctl ClusterConfig
description:
  - Replaces C(make_cluster) and C(delete_cluster) of the Tidepool install guide.
  - Reads the current state through the AWS API only (EKS DescribeCluster and ListNodegroups, the CloudFormation
    stacks C(eksctl-<cluster>-*), the Auto Scaling groups of unmanaged node groups, IAM OIDC providers), so
    planning and check mode need no eksctl; acts by running the C(eksctl) CLI.
  - With O(state=present), creates the cluster from the ClusterConfig when it is missing. When it exists,
    upgrades the control plane one minor version at a time up to C(metadata.version) (then managed node groups
    and the kube-proxy, aws-node and CoreDNS add-ons), creates missing node groups, scales node groups whose
    C(minSize), C(maxSize) or C(desiredCapacity) changed, deletes node groups missing from the config only with
    O(prune_nodegroups=true) (drained first), associates the IAM OIDC provider when missing, creates missing and
    updates changed IRSA service accounts (C(iam.serviceAccounts)), and writes or merges O(kubeconfig).
  - With O(state=absent), deletes the cluster and every C(eksctl-<cluster>-*) stack (node groups, IRSA service
    accounts) and waits.
  - A CloudFormation stack of the cluster in a failed state (for example C(ROLLBACK_COMPLETE) after a failed
    create) stops the task with the stack's last failure events, or is deleted first with O(on_failed_stack=delete).
version_added: 0.1.0
author:
  - Tidepool EKS maintainers (@tidepool-org)
options:
  config:
    description:
      - The eksctl ClusterConfig (C(eksctl.io/v1alpha5)) as a dict, for example the one the C(tidepool.eks.config)
        role renders. Mutually exclusive with O(config_file).
    type: dict
  config_file:
    description:
      - Path of a ClusterConfig YAML file (for example C(clusters/<cluster>/eksctl/cluster-config.yaml) of the config
        repository).
    type: path
  state:
    description:
      - V(present) creates or reconciles the cluster, V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  kubeconfig:
    description:
      - Kubeconfig file eksctl writes or merges the cluster's context into. C(~) and C($HOME) are expanded.
        Unset writes no kubeconfig.
    type: str
  prune_nodegroups:
    description:
      - Delete node groups that exist but are not in the ClusterConfig (drained first). When V(false) they are kept
        with a warning.
    type: bool
    default: false
  on_failed_stack:
    description:
      - What to do with a stack of the cluster in a failed state (C(ROLLBACK_COMPLETE), C(CREATE_FAILED)...).
        V(fail) stops with the stack's failure events; V(delete) deletes the stack first and carries on.
    type: str
    choices: [fail, delete]
    default: fail
  eksctl_path:
    description:
      - The eksctl executable (a name looked up on C(PATH), or a path).
    type: str
    default: eksctl
  scope:
    description:
      - V(cluster) creates and reconciles the whole cluster. V(irsa) only associates the IAM OIDC provider and creates or
        updates the IRSA service accounts of an EKS cluster that already exists (one eksctl did not create, for
        example used with C(cluster_provider=existing)); the task fails when the cluster does not exist.
      - Ignored with O(state=absent).
    type: str
    choices: [cluster, irsa]
    default: cluster
  log_file:
    description:
      - File eksctl's output is appended to line by line while it runs (C(tail -f) it to follow a 15-20 minute
        create). Unset keeps the output only in RV(runs).
    type: path
  wait_timeout:
    description:
      - Longest time one eksctl command may take, in seconds (passed to eksctl as C(--timeout) too); the task then
        fails with a message naming the command.
    type: int
    default: 2400
extends_documentation_fragment:
  - tidepool.eks.aws
attributes:
  check_mode:
    support: full
    description: Can run in check_mode and return changed status prediction without modifying target.
    details: Returns the eksctl commands it would run in RV(commands); runs no eksctl and changes nothing.
  diff_mode:
    support: full
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    details: Before/after of the reconciled part of the ClusterConfig (version, node group sizes, IRSA service accounts).
  idempotent:
    support: full
    description: When run twice in a row outside check mode, with the same arguments, the second invocation indicates no change.
    details: Nothing is run when the cluster matches the ClusterConfig.
notes:
  - The AWS calls go to the ClusterConfig's C(metadata.region), as eksctl's do; O(region) is only used when the
    ClusterConfig has none.
  - Creating a cluster takes 15-20 minutes. Run the task with C(async) (for example C(async=3600), C(poll=30)) and
    set O(log_file) to follow eksctl's output while it runs; the output is also returned in RV(runs).
  - C(iamIdentityMappings) are applied when the cluster is created; they are not reconciled on an existing cluster.
  - Unmanaged node groups (C(nodeGroups)) cannot be upgraded in place; the task warns and names them.
requirements:
  - eksctl (role C(tidepool.eks.tools) installs it)
  - boto3
"""

EXAMPLES = r"""
- name: The cluster of the config role's ClusterConfig
  tidepool.eks.eksctl_cluster:
    config: "{{ lookup('file', config_repo_dir ~ '/clusters/test1/eksctl/cluster-config.yaml') | from_yaml }}"
    kubeconfig: "~/.kube/config"
  async: 3600
  poll: 30

- name: Remove a node group that left the ClusterConfig
  tidepool.eks.eksctl_cluster:
    config_file: /srv/config/clusters/test1/eksctl/cluster-config.yaml
    prune_nodegroups: true

- name: Retry after a failed create (deletes the ROLLBACK_COMPLETE stack first)
  tidepool.eks.eksctl_cluster:
    config_file: /srv/config/clusters/test1/eksctl/cluster-config.yaml
    on_failed_stack: delete

- name: IRSA service accounts on an EKS cluster eksctl did not create
  tidepool.eks.eksctl_cluster:
    config_file: /srv/config/clusters/test1/eksctl/cluster-config.yaml
    scope: irsa

- name: Delete the cluster
  tidepool.eks.eksctl_cluster:
    config_file: /srv/config/clusters/test1/eksctl/cluster-config.yaml
    state: absent
"""

RETURN = r"""
commands:
  description: The eksctl argv lists run, or in check mode planned, in order.
  returned: always
  type: list
  elements: list
  sample: [["eksctl", "scale", "nodegroup", "--cluster", "test1", "--region", "us-west-2", "--name", "ng", "--nodes=5"]]
deleted_stacks:
  description: Failed CloudFormation stacks deleted (or, in check mode, to delete) because of O(on_failed_stack=delete).
  returned: always
  type: list
  elements: str
cluster:
  description: The cluster after the task (before it, in check mode).
  returned: always
  type: dict
  contains:
    name:
      description: Cluster name.
      type: str
    status:
      description: EKS status of the cluster (C(ACTIVE), C(CREATING)...), or C(absent).
      type: str
    version:
      description: Kubernetes version of the control plane.
      type: str
    endpoint:
      description: API server URL.
      type: str
    vpc_id:
      description: VPC of the cluster.
      type: str
    subnets:
      description: Subnet ids of the cluster.
      type: list
      elements: str
    oidc_issuer:
      description: OIDC issuer URL (IRSA).
      type: str
runs:
  description: For each command run, its argv, exit code and last output lines.
  returned: when commands ran
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tidepool.eks.plugins.module_utils.aws import connection as aws
from ansible_collections.tidepool.eks.plugins.module_utils.common import runner
from ansible_collections.tidepool.eks.plugins.module_utils.aws.eksctl import cluster_runner
from ansible_collections.tidepool.eks.plugins.module_utils.aws.eksctl import planning
from ansible_collections.tidepool.eks.plugins.module_utils.aws.eksctl.state import ClusterError


def argument_spec() -> dict:
    spec = aws.aws_argument_spec()
    spec.update(
        config=dict(type="dict"),
        config_file=dict(type="path"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        kubeconfig=dict(type="str", no_log=False),
        prune_nodegroups=dict(type="bool", default=False),
        on_failed_stack=dict(type="str", choices=["fail", "delete"], default="fail"),
        eksctl_path=dict(type="str", default="eksctl"),
        wait_timeout=dict(type="int", default=planning.DEFAULT_WAIT_TIMEOUT),
        scope=dict(type="str", choices=["cluster", "irsa"], default="cluster"),
        log_file=dict(type="path"),
    )
    return spec


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True,
                           required_one_of=[("config", "config_file")], mutually_exclusive=[("config", "config_file")])
    runner.run(module, lambda: cluster_runner.run(module.params, check_mode=module.check_mode, tmpdir=module.tmpdir),
               errors=(ClusterError, aws.AwsError), fields=lambda exc: getattr(exc, "fields", {}),
               unexpected="eksctl_cluster")


if __name__ == "__main__":
    main()
