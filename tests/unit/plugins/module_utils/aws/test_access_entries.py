"""EKS access entries for aws.iamUsers (cluster_iam_users_mapping: access-entries) against botocore's Stubber:
moto has no access-entry API, so each test scripts the EKS answers and Stubber checks the calls and their order."""
from __future__ import annotations

import datetime
import json

import boto3
import pytest
from ansible.module_utils.testing import patch_module_args
from botocore.stub import Stubber

from ansible_collections.tidepool.eks.plugins.module_utils.aws import connection as aws
from ansible_collections.tidepool.eks.plugins.module_utils.aws import access_entries as ae
from ansible_collections.tidepool.eks.plugins.modules import eks_access_entries as module

CLUSTER = "test1"
REGION = "us-west-2"
ADMIN = ae.ADMIN_POLICY_ARN
VIEW = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"
ALICE = "arn:aws:iam::123456789012:user/alice"
BOB = "arn:aws:iam::123456789012:user/bob"
NODE_ROLE = "arn:aws:iam::123456789012:role/eksctl-test1-nodegroup-ng-NodeInstanceRole-1"
OPS = "arn:aws:iam::123456789012:user/ops"
NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)


@pytest.fixture
def eks():
    client = boto3.client("eks", region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


def describe(stub, mode="API_AND_CONFIG_MAP"):
    stub.add_response("describe_cluster", {"cluster": {"name": CLUSTER, "status": "ACTIVE",
                                                       "accessConfig": {"authenticationMode": mode}}},
                      {"name": CLUSTER})


def list_entries(stub, arns, token=None, next_token=None):
    params = {"clusterName": CLUSTER}
    if token:
        params["nextToken"] = token
    response = {"accessEntries": arns}
    if next_token:
        response["nextToken"] = next_token
    stub.add_response("list_access_entries", response, params)


def policy(arn, scope="cluster", namespaces=None):
    item = {"policyArn": arn, "accessScope": {"type": scope}, "associatedAt": NOW, "modifiedAt": NOW}
    if namespaces:
        item["accessScope"]["namespaces"] = namespaces
    return item


def list_policies(stub, principal, policies):
    stub.add_response("list_associated_access_policies",
                      {"clusterName": CLUSTER, "principalArn": principal, "associatedAccessPolicies": policies},
                      {"clusterName": CLUSTER, "principalArn": principal})


def create(stub, principal):
    stub.add_response("create_access_entry",
                      {"accessEntry": {"clusterName": CLUSTER, "principalArn": principal, "type": "STANDARD"}},
                      {"clusterName": CLUSTER, "principalArn": principal, "type": "STANDARD"})


def associate(stub, principal, policy_arn=ADMIN):
    stub.add_response("associate_access_policy",
                      {"clusterName": CLUSTER, "principalArn": principal,
                       "associatedAccessPolicy": policy(policy_arn)},
                      {"clusterName": CLUSTER, "principalArn": principal, "policyArn": policy_arn,
                       "accessScope": {"type": "cluster"}})


# ---------------------------------------------------------------------------------------------
# plan_actions (pure)
# ---------------------------------------------------------------------------------------------

def test_plan_creates_missing_associates_lacking_and_leaves_complete_and_others():
    current = {NODE_ROLE: None, OPS: None, ALICE: [policy(VIEW)], BOB: [policy(ADMIN)]}
    carol = "arn:aws:iam::123456789012:user/carol"
    actions = ae.plan_actions(current, [carol, ALICE, BOB, carol])
    assert actions == [
        {"action": "create_entry", "principal_arn": carol, "type": "STANDARD"},
        {"action": "associate_policy", "principal_arn": carol, "policy_arn": ADMIN, "access_scope": {"type": "cluster"}},
        {"action": "associate_policy", "principal_arn": ALICE, "policy_arn": ADMIN, "access_scope": {"type": "cluster"}},
    ]
    assert all(a["principal_arn"] not in (NODE_ROLE, OPS) for a in actions)


def test_plan_namespace_scoped_admin_is_not_enough():
    actions = ae.plan_actions({ALICE: [policy(ADMIN, "namespace", ["default"])]}, [ALICE])
    assert [a["action"] for a in actions] == ["associate_policy"]
    after = ae.apply_to_state({ALICE: [policy(ADMIN, "namespace", ["default"])]}, actions)
    assert ae.has_cluster_policy(after[ALICE], ADMIN) and len(after[ALICE]) == 1


def test_plan_nothing_when_complete():
    assert ae.plan_actions({ALICE: [policy(VIEW), policy(ADMIN)]}, [ALICE]) == []


# ---------------------------------------------------------------------------------------------
# ensure (executor) through Stubber
# ---------------------------------------------------------------------------------------------

def test_creates_entries_for_missing_users_and_leaves_other_principals(eks):
    client, stub = eks
    describe(stub)
    list_entries(stub, [NODE_ROLE, OPS])
    create(stub, ALICE)
    associate(stub, ALICE)
    create(stub, BOB)
    associate(stub, BOB)
    result = ae.ensure(client, CLUSTER, [ALICE, BOB])
    assert result["changed"] and result["authentication_mode"] == "API_AND_CONFIG_MAP"
    assert [(a["action"], a["principal_arn"]) for a in result["actions"]] == [
        ("create_entry", ALICE), ("associate_policy", ALICE), ("create_entry", BOB), ("associate_policy", BOB)]
    assert [e["principal_arn"] for e in result["entries"]] == [ALICE, BOB]
    assert result["entries"][0]["access_policies"] == [{"policy_arn": ADMIN,
                                                        "access_scope": {"type": "cluster", "namespaces": []}}]
    assert result["diff"]["before"] == {"access_entries": []}
    assert [e["principal_arn"] for e in result["diff"]["after"]["access_entries"]] == [ALICE, BOB]
    # NODE_ROLE and OPS: no ListAssociatedAccessPolicies, no write (Stubber fails on any unscripted call)


def test_existing_entry_without_the_policy_only_gets_the_association(eks):
    client, stub = eks
    describe(stub)
    list_entries(stub, [NODE_ROLE, ALICE])
    list_policies(stub, ALICE, [policy(VIEW, "namespace", ["qa1"])])
    associate(stub, ALICE)
    result = ae.ensure(client, CLUSTER, [ALICE])
    assert result["changed"]
    assert result["actions"] == [{"action": "associate_policy", "principal_arn": ALICE, "policy_arn": ADMIN,
                                  "access_scope": {"type": "cluster"}}]
    before = result["diff"]["before"]["access_entries"][0]["access_policies"]
    after = result["diff"]["after"]["access_entries"][0]["access_policies"]
    assert before == [{"policy_arn": VIEW, "access_scope": {"type": "namespace", "namespaces": ["qa1"]}}]
    assert after == before + [{"policy_arn": ADMIN, "access_scope": {"type": "cluster", "namespaces": []}}]


def test_complete_entry_is_unchanged(eks):
    client, stub = eks
    describe(stub, "API")
    list_entries(stub, [ALICE, NODE_ROLE])
    list_policies(stub, ALICE, [policy(ADMIN)])
    result = ae.ensure(client, CLUSTER, [ALICE])
    assert not result["changed"] and result["actions"] == []
    assert result["diff"]["before"] == result["diff"]["after"]
    assert result["entries"] == [{"principal_arn": ALICE, "access_policies": [
        {"policy_arn": ADMIN, "access_scope": {"type": "cluster", "namespaces": []}}]}]


def test_list_access_entries_is_followed_through_next_token(eks):
    client, stub = eks
    describe(stub)
    list_entries(stub, [NODE_ROLE, OPS], next_token="page2")
    list_entries(stub, ["arn:aws:iam::123456789012:user/x"], token="page2", next_token="page3")
    list_entries(stub, [ALICE], token="page3")
    list_policies(stub, ALICE, [policy(ADMIN)])
    result = ae.ensure(client, CLUSTER, [ALICE])
    assert not result["changed"]          # ALICE was on the last page: no create


def test_config_map_mode_is_refused_before_anything_else(eks):
    client, stub = eks
    describe(stub, "CONFIG_MAP")
    with pytest.raises(ae.AccessEntriesError) as err:
        ae.ensure(client, CLUSTER, [ALICE])
    msg = str(err.value)
    assert f"EKS cluster {CLUSTER} ({REGION}) has authenticationMode CONFIG_MAP" in msg
    assert "API_AND_CONFIG_MAP" in msg and "cluster_iam_users_mapping: aws-auth" in msg


def test_check_mode_reads_and_plans_but_writes_nothing(eks):
    client, stub = eks
    describe(stub)
    list_entries(stub, [NODE_ROLE, ALICE])
    list_policies(stub, ALICE, [])
    result = ae.ensure(client, CLUSTER, [ALICE, BOB], check_mode=True)
    assert result["changed"]
    assert [(a["action"], a["principal_arn"]) for a in result["actions"]] == [
        ("associate_policy", ALICE), ("create_entry", BOB), ("associate_policy", BOB)]
    assert [e["principal_arn"] for e in result["entries"]] == [ALICE, BOB]   # predicted
    # no create_access_entry / associate_access_policy was scripted: a write would have failed the Stubber


def test_missing_cluster_names_cluster_and_region(eks):
    client, stub = eks
    stub.add_client_error("describe_cluster", service_error_code="ResourceNotFoundException",
                          service_message="No cluster found for name: test1.", http_status_code=404,
                          expected_params={"name": CLUSTER})
    with pytest.raises(ae.AccessEntriesError) as err:
        ae.ensure(client, CLUSTER, [ALICE])
    assert str(err.value).startswith(f"EKS cluster {CLUSTER} was not found in region {REGION} (ResourceNotFoundException)")
    assert err.value.code == "ResourceNotFoundException"


def test_access_denied_names_cluster_region_and_operation(eks):
    client, stub = eks
    describe(stub)
    stub.add_client_error("list_access_entries", service_error_code="AccessDeniedException",
                          service_message="User: arn:aws:iam::123456789012:user/ci is not authorized to perform: "
                                          "eks:ListAccessEntries", http_status_code=403)
    with pytest.raises(ae.AccessEntriesError) as err:
        ae.ensure(client, CLUSTER, [ALICE])
    msg = str(err.value)
    assert msg.startswith(f"EKS access entries of cluster {CLUSTER} in region {REGION}: eks.ListAccessEntries failed: "
                          "AccessDeniedException")
    assert "the IAM policy of these credentials must allow eks:ListAccessEntries (docs/iam/)" in msg


def test_entry_created_meanwhile_still_gets_the_association(eks):
    client, stub = eks
    describe(stub)
    list_entries(stub, [])
    stub.add_client_error("create_access_entry", service_error_code="ResourceInUseException",
                          service_message="The specified access entry resource is already in use on this cluster.",
                          http_status_code=409)
    associate(stub, ALICE)
    assert ae.ensure(client, CLUSTER, [ALICE])["changed"]


def test_no_principals_calls_nothing(eks):
    client, _stub = eks
    result = ae.ensure(client, CLUSTER, [])
    assert result == {"changed": False, "actions": [], "entries": [], "authentication_mode": None,
                      "diff": {"before": {"access_entries": []}, "after": {"access_entries": []}}}


@pytest.mark.parametrize("principals, policy_arn, fragment", [
    (["alice"], ADMIN, "principal_arns: 'alice' is not an IAM user or role ARN"),
    (["arn:aws:sts::123456789012:assumed-role/x/y"], ADMIN, "is not an IAM user or role ARN"),
    ([ALICE], "AmazonEKSClusterAdminPolicy", "access_policy_arn"),
])
def test_bad_input_is_refused_before_any_call(eks, principals, policy_arn, fragment):
    client, _stub = eks
    with pytest.raises(ae.AccessEntriesError, match=fragment):
        ae.ensure(client, CLUSTER, principals, policy_arn)


# ---------------------------------------------------------------------------------------------
# The module shell (main): check mode, diff, failure message
# ---------------------------------------------------------------------------------------------

def run_main(monkeypatch, client, args):
    monkeypatch.setattr(aws, "client", lambda service, params=None, **kw: client)
    with patch_module_args(args), pytest.raises(SystemExit) as exited:
        module.main()
    return exited.value.code


def test_main_check_mode_with_diff(eks, monkeypatch, capsys):
    client, stub = eks
    describe(stub)
    list_entries(stub, [NODE_ROLE])
    code = run_main(monkeypatch, client, {"cluster": CLUSTER, "region": REGION, "principal_arns": [ALICE],
                                          "_ansible_check_mode": True, "_ansible_diff": True})
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["changed"]
    assert [a["action"] for a in out["actions"]] == ["create_entry", "associate_policy"]
    assert out["diff"]["before"] == {"access_entries": []}
    assert out["diff"]["after"]["access_entries"][0]["principal_arn"] == ALICE


def test_main_failure_is_one_message(eks, monkeypatch, capsys):
    client, stub = eks
    describe(stub, "CONFIG_MAP")
    code = run_main(monkeypatch, client, {"cluster": CLUSTER, "region": REGION, "principal_arns": [ALICE]})
    out = json.loads(capsys.readouterr().out)
    assert code == 1 and out["failed"] and "has authenticationMode CONFIG_MAP" in out["msg"] and "diff" not in out
