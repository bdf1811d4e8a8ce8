# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Filters of the cluster role: the aws-auth mapUsers text with the inventory's IAM master users added, and the
IAM user ARNs of those users (for EKS access entries, module tidepool.eks.eks_access_entries).

Each filter is documented in plugins/filter/<name>.yml: ansible-doc reads those only when this file has no
DOCUMENTATION, so it has none (tests/unit/plugins/filter/test_filter_docs.py).
"""
from __future__ import annotations

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
