"""aws-auth mapUsers merging (make_users fixed): users, additive, no duplicates, mapRoles untouched."""
from __future__ import annotations

import pytest
import yaml

from ansible_collections.tidepool.eks.plugins.module_utils.aws import aws_auth

ACCOUNT = "123456789012"


def test_users_added_once_and_others_kept():
    existing = yaml.safe_dump([{"userarn": "arn:aws:iam::123456789012:user/ops", "username": "ops", "groups": ["view"]}])
    text, added = aws_auth.merge_map_users(existing, ["alice", "bob", "alice"], ACCOUNT)
    entries = yaml.safe_load(text)
    assert entries[0] == {"userarn": "arn:aws:iam::123456789012:user/ops", "username": "ops", "groups": ["view"]}
    assert [e["userarn"] for e in entries[1:]] == ["arn:aws:iam::123456789012:user/alice", "arn:aws:iam::123456789012:user/bob"]
    assert all(e["groups"] == ["system:masters"] for e in entries[1:])
    assert len(added) == 2
    again, added2 = aws_auth.merge_map_users(text, ["alice", "bob"], ACCOUNT)
    assert again == text and added2 == []


def test_existing_duplicates_of_our_users_are_collapsed_and_group_added():
    dup = [{"userarn": "arn:aws:iam::123456789012:user/alice", "username": "alice", "groups": ["edit"]}] * 2
    text, added = aws_auth.merge_map_users(yaml.safe_dump(dup), ["alice"], ACCOUNT)
    assert yaml.safe_load(text) == [{"userarn": "arn:aws:iam::123456789012:user/alice", "username": "alice",
                                     "groups": ["edit", "system:masters"]}]
    assert added == []


@pytest.mark.parametrize("current, users, account, fragment", [
    ("- a: [", ["x"], ACCOUNT, "not valid YAML"),
    ("a: b", ["x"], ACCOUNT, "not a list"),
    ("", ["bad user"], ACCOUNT, "aws.iamUsers"),
    ("", ["x"], "1234", "aws.accountNumber"),
])
def test_errors_name_the_input(current, users, account, fragment):
    with pytest.raises(aws_auth.AwsAuthError, match=fragment):
        aws_auth.merge_map_users(current, users, account)


def test_no_users_no_change():
    assert aws_auth.merge_map_users(None, [], ACCOUNT) == ("", [])
    assert aws_auth.merge_map_users("[]\n", [], ACCOUNT) == ("[]\n", [])


def test_user_arns_filter_builds_the_arns_once_each():
    from ansible.errors import AnsibleFilterError
    from ansible_collections.tidepool.eks.plugins.filter.aws_auth import FilterModule

    arns = FilterModule().filters()["aws_iam_user_arns"]
    assert arns(["alice", "bob", "alice"], 123456789012) == [
        "arn:aws:iam::123456789012:user/alice", "arn:aws:iam::123456789012:user/bob"]
    assert arns(None, ACCOUNT) == []
    with pytest.raises(AnsibleFilterError, match="aws.iamUsers"):
        arns(["bad user"], ACCOUNT)
