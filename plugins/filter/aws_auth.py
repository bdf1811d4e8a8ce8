# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Filter of the cluster role: the aws-auth mapUsers text with the inventory's IAM master users added."""
from __future__ import annotations

DOCUMENTATION = r"""
name: aws_auth_map_users
short_description: Add IAM users as system:masters to the aws-auth mapUsers text
description:
  - Returns the new C(data.mapUsers) of C(kube-system/aws-auth) with one entry per user of O(users)
    (C(arn:aws:iam::<account>:user/<user>), group C(system:masters)), keeping every other entry and never
    adding one twice. C(mapRoles) is not involved. Logic in C(plugins/module_utils/aws_auth.py).
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
"""

RETURN = r"""
_value:
  description: The mapUsers YAML text.
  type: str
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.tidepool.eks.plugins.module_utils import aws_auth


def aws_auth_map_users(map_users, users, account):
    try:
        return aws_auth.merge_map_users(str(map_users) if map_users else None, [str(u) for u in users or []],
                                        str(account))[0]
    except aws_auth.AwsAuthError as exc:
        raise AnsibleFilterError(str(exc)) from None


class FilterModule:
    def filters(self):
        return {"aws_auth_map_users": aws_auth_map_users}
