# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Filters of the cluster role: the aws-auth mapUsers text with the inventory's IAM master users added, and the
IAM user ARNs of those users (for EKS access entries, module tidepool.eks.eks_access_entries)."""
from __future__ import annotations

DOCUMENTATION = r"""
name: aws_auth_map_users
short_description: Add IAM users as system:masters to the aws-auth mapUsers text
description:
  - Returns the new C(data.mapUsers) of C(kube-system/aws-auth) with one entry per user of O(users)
    (C(arn:aws:iam::<account>:user/<user>), group C(system:masters)), keeping every other entry and never
    adding one twice. C(mapRoles) is not involved. Logic in C(plugins/module_utils/aws/aws_auth.py).
  - The filter C(aws_iam_user_arns) (same file) takes the user names as input and the account as argument and
    returns the list of their ARNs, built the same way, once each (for C(tidepool.eks.eks_access_entries)).
positional: _input
options:
  _input:
    description: The current C(data.mapUsers) text (empty or null when there is none).
    type: str
    required: true
  users:
    description: IAM user names (the inventory's C(aws.iamUsers)).
    type: list
    elements: str
    required: true
  account:
    description: The AWS account id (C(aws.accountNumber)).
    type: str
    required: true
"""

EXAMPLES = r"""
- name: New mapUsers
  ansible.builtin.set_fact:
    map_users: "{{ aws_auth.data.mapUsers | default('') | tidepool.eks.aws_auth_map_users(aws.iamUsers, aws.accountNumber) }}"

- name: The IAM user ARNs of aws.iamUsers
  ansible.builtin.set_fact:
    admin_arns: "{{ aws.iamUsers | tidepool.eks.aws_iam_user_arns(aws.accountNumber) }}"
"""

RETURN = r"""
_value:
  description: The mapUsers YAML text.
  type: str
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.tidepool.eks.plugins.module_utils.aws import aws_auth


def aws_auth_map_users(map_users, users, account):
    try:
        return aws_auth.merge_map_users(str(map_users) if map_users else None, [str(u) for u in users or []],
                                        str(account))[0]
    except aws_auth.AwsAuthError as exc:
        raise AnsibleFilterError(str(exc)) from None


def aws_iam_user_arns(users, account):
    """``arn:aws:iam::<account>:user/<user>`` of each user name, once each (aws_auth.user_arns)."""
    try:
        return aws_auth.user_arns(str(account), [str(u) for u in users or []])
    except aws_auth.AwsAuthError as exc:
        raise AnsibleFilterError(str(exc)) from None


class FilterModule:
    def filters(self):
        return {"aws_auth_map_users": aws_auth_map_users, "aws_iam_user_arns": aws_iam_user_arns}
