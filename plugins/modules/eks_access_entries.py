#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
from __future__ import annotations

DOCUMENTATION = r"""
module: eks_access_entries
short_description: Give IAM principals EKS access entries with a cluster access policy, additively
version_added: 0.1.0
description:
  - The EKS access-entry alternative to mapping the install guide's IAM master users (C(aws.iamUsers)) to
    C(system:masters) in C(kube-system/aws-auth).
  - Gives every principal of O(principal_arns) an EKS access entry of type C(STANDARD) on O(cluster) and
    associates O(access_policy_arn) (default C(AmazonEKSClusterAdminPolicy), the access-entry equivalent of
    C(system:masters)) with it at cluster scope.
  - Additive. Entries of other principals (node roles, users managed elsewhere) are never changed or deleted. An
    entry that exists but lacks the policy at cluster scope only gets the association; its other policies are
    kept. A namespace-scoped association of the same policy is widened to the cluster.
  - Refuses, before changing anything, a cluster whose C(accessConfig.authenticationMode) is C(CONFIG_MAP) (it has
    no access entries); switch it to C(API_AND_CONFIG_MAP) or map the users in aws-auth instead.
  - Calls DescribeCluster, ListAccessEntries, ListAssociatedAccessPolicies, CreateAccessEntry and
    AssociateAccessPolicy. Logic in C(plugins/module_utils/aws/access_entries.py).
author:
  - Tidepool EKS maintainers (@tidepool-org)
options:
  cluster:
    description:
      - Name of the EKS cluster (C(cluster.metadata.name)). Its region is O(region).
    type: str
    required: true
  principal_arns:
    description:
      - ARNs of the IAM users or roles that get an access entry (C(arn:aws:iam::<account>:user/<name>)); repeats
        are ignored. The filter C(tidepool.eks.aws_iam_user_arns) builds them from C(aws.iamUsers).
      - An empty list changes nothing and calls nothing.
    type: list
    elements: str
    default: []
  access_policy_arn:
    description:
      - EKS cluster access policy associated with each entry at cluster scope.
    type: str
    default: arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy
  state:
    description:
      - V(present) creates the missing entries and associations. Removing entries is not supported.
    type: str
    choices: [present]
    default: present
extends_documentation_fragment:
  - tidepool.eks.aws
  - tidepool.eks.attributes
attributes:
  check_mode:
    support: full
    details: Reads the cluster and its entries and returns the planned actions; creates and associates nothing.
  diff_mode:
    support: full
    details: Before/after of the wanted principals' entries, each with its associated policies and their scopes.
  idempotent:
    support: full
    details: A principal whose entry already has the policy at cluster scope causes no call that writes.
notes:
  - IAM permissions - C(eks:DescribeCluster), C(eks:ListAccessEntries), C(eks:ListAssociatedAccessPolicies),
    C(eks:CreateAccessEntry) and C(eks:AssociateAccessPolicy) on the cluster and its access entries.
  - The EKS API of the cluster's region is used; moto does not implement access entries.
  - Access entries need the cluster's authentication mode C(API_AND_CONFIG_MAP) or C(API). The switch from
    C(CONFIG_MAP) is one way (C(aws eks update-cluster-config --access-config authenticationMode=API_AND_CONFIG_MAP)).
seealso:
  - name: EKS access entries
    description: Grant IAM users access to Kubernetes with EKS access entries.
    link: https://docs.aws.amazon.com/eks/latest/userguide/access-entries.html
"""

EXAMPLES = r"""
- name: The inventory's IAM master users as cluster admins of test1 (access entries)
  tidepool.eks.eks_access_entries:
    cluster: test1
    region: us-west-2
    principal_arns: "{{ aws.iamUsers | tidepool.eks.aws_iam_user_arns(aws.accountNumber) }}"

- name: A role with read-only access to every namespace
  tidepool.eks.eks_access_entries:
    cluster: test1
    region: us-west-2
    principal_arns: [arn:aws:iam::123456789012:role/auditors]
    access_policy_arn: arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy
"""

RETURN = r"""
actions:
  description:
    - The actions taken (planned, in check mode), in order. Empty when nothing changed.
    - C(create_entry) items have C(action), C(principal_arn) and C(type); C(associate_policy) items have
      C(action), C(principal_arn), C(policy_arn) and C(access_scope).
  returned: always
  type: list
  elements: dict
  sample:
    - {action: create_entry, principal_arn: "arn:aws:iam::123456789012:user/alice", type: STANDARD}
    - action: associate_policy
      principal_arn: "arn:aws:iam::123456789012:user/alice"
      policy_arn: arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy
      access_scope: {type: cluster}
entries:
  description: The entries of O(principal_arns) after the task (predicted in check mode), in that order.
  returned: always
  type: list
  elements: dict
  contains:
    principal_arn:
      description: The IAM principal of the entry.
      type: str
    access_policies:
      description: Policies associated with the entry.
      type: list
      elements: dict
      contains:
        policy_arn:
          description: ARN of the access policy.
          type: str
        access_scope:
          description: C(type) (V(cluster) or V(namespace)) and C(namespaces) (list of str, empty for V(cluster)).
          type: dict
  sample:
    - principal_arn: "arn:aws:iam::123456789012:user/alice"
      access_policies:
        - policy_arn: arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy
          access_scope: {type: cluster, namespaces: []}
authentication_mode:
  description: The cluster's C(accessConfig.authenticationMode) (null when O(principal_arns) is empty).
  returned: always
  type: str
  sample: API_AND_CONFIG_MAP
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tidepool.eks.plugins.module_utils.aws import connection as aws
from ansible_collections.tidepool.eks.plugins.module_utils.aws import access_entries as core
from ansible_collections.tidepool.eks.plugins.module_utils.common import runner


def argument_spec() -> dict:
    spec = aws.aws_argument_spec()
    spec.update(
        cluster=dict(type="str", required=True),
        principal_arns=dict(type="list", elements="str", default=[]),
        access_policy_arn=dict(type="str", default=core.ADMIN_POLICY_ARN),
        state=dict(type="str", choices=["present"], default="present"),
    )
    return spec


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    p = module.params

    def work():
        client = aws.client("eks", p) if p["principal_arns"] else None
        return core.ensure(client, p["cluster"], p["principal_arns"], p["access_policy_arn"],
                           check_mode=module.check_mode)

    runner.run(module, work, errors=(core.AccessEntriesError, aws.AwsError),
               fields=lambda exc: dict(error_code=getattr(exc, "code", None)), unexpected="eks_access_entries")


if __name__ == "__main__":
    main()
