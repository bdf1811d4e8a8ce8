"""Unit tests of reading an eksctl cluster (plugins/module_utils/aws/eksctl/state.py): fake boto3 clients."""
from __future__ import annotations

from botocore.exceptions import ClientError

from ansible_collections.tidepool.eks.plugins.module_utils.aws.eksctl import state


class _Cfn:
    """list_stacks in two pages, stack events with two failures."""

    def list_stacks(self, NextToken=None, **_):
        if NextToken is None:
            return {"StackSummaries": [{"StackName": "eksctl-c-cluster", "StackStatus": "CREATE_COMPLETE"},
                                       {"StackName": "eksctl-other-cluster", "StackStatus": "ROLLBACK_COMPLETE"}],
                    "NextToken": "p2"}
        return {"StackSummaries": [{"StackName": "eksctl-c-nodegroup-ng", "StackStatus": "ROLLBACK_COMPLETE"},
                                   {"StackName": "eksctl-c-old", "StackStatus": "DELETE_COMPLETE"}]}

    def describe_stack_events(self, StackName):
        return {"StackEvents": [
            {"LogicalResourceId": "ASG", "ResourceStatus": "CREATE_FAILED", "ResourceStatusReason": "quota"},
            {"LogicalResourceId": "LT", "ResourceStatus": "CREATE_COMPLETE", "ResourceStatusReason": "ok"},
            {"LogicalResourceId": "SG", "ResourceStatus": "DELETE_FAILED", "ResourceStatusReason": "in use"}]}


class _Eks:
    def describe_cluster(self, name):
        raise ClientError({"Error": {"Code": "ResourceNotFoundException", "Message": "No cluster found"}},
                          "DescribeCluster")


def test_read_state_without_a_cluster_lists_every_page_of_its_stacks():
    st = state.read_state({"eks": _Eks(), "cloudformation": _Cfn()}, "c")
    assert st["cluster"] is None and st["oidc_associated"] is None
    assert st["stacks"] == {"eksctl-c-cluster": "CREATE_COMPLETE", "eksctl-c-nodegroup-ng": "ROLLBACK_COMPLETE"}
    assert st["nodegroups"]["ng"]["status"] == "ROLLBACK_COMPLETE" and st["nodegroups"]["ng"]["managed"] is False
    assert state.cluster_summary(st)["status"] == "absent"


def test_failure_events_and_message():
    assert state.failure_events(_Cfn(), "s") == ["ASG CREATE_FAILED: quota", "SG DELETE_FAILED: in use"]
    assert state.failure_events(_Cfn(), "s", limit=1) == ["ASG CREATE_FAILED: quota"]
    assert state.failed_message("s", "ROLLBACK_COMPLETE", _Cfn()) == (
        "CloudFormation stack s is ROLLBACK_COMPLETE (last failure events: ASG CREATE_FAILED: quota; "
        "SG DELETE_FAILED: in use).")
    assert state.failed_message("s", "ROLLBACK_COMPLETE", None) == "CloudFormation stack s is ROLLBACK_COMPLETE."


def test_json_value():
    assert state.json_value('{"a": [1]}') == {"a": [1]}
    assert state.json_value({"a": 1}) == {"a": 1}
    assert state.json_value("{not json") is None
    assert state.json_value("{not json", invalid="x") == "x"
