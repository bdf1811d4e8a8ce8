"""Unit tests of the eksctl planner (plugins/module_utils/aws/eksctl/planning.py): no Ansible, no AWS, no eksctl."""
from __future__ import annotations

import json

import pytest

from ansible_collections.tidepool.eks.plugins.module_utils.common.plan import Plan as PlanBase
from ansible_collections.tidepool.eks.plugins.module_utils.aws.eksctl import planning
from ansible_collections.tidepool.eks.plugins.module_utils.aws.eksctl.state import ClusterError

NAME, REGION = "ekstest", "us-west-2"
POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}


def config(version="1.34", policy=None):
    return {"metadata": {"name": NAME, "region": REGION, "version": version},
            "nodeGroups": [{"name": "ng", "minSize": 1, "maxSize": 10, "desiredCapacity": 4}],
            "iam": {"serviceAccounts": [{"metadata": {"name": "sa", "namespace": "ns"},
                                         "attachPolicy": policy or POLICY}]}}


def state(cluster=True, stacks=None, policy=None, size=(1, 10, 4), version="1.34"):
    ng_stack = f"eksctl-{NAME}-nodegroup-ng"
    sa_stack = f"eksctl-{NAME}-addon-iamserviceaccount-ns-sa"
    out = {"cluster": None, "stacks": dict(stacks or {}), "nodegroups": {}, "service_accounts": {},
           "oidc_associated": None}
    if cluster:
        out["cluster"] = {"name": NAME, "status": "ACTIVE", "version": version, "endpoint": "https://k"}
        out["nodegroups"]["ng"] = {"name": "ng", "managed": False, "stack": ng_stack, "minSize": size[0],
                                   "maxSize": size[1], "desiredCapacity": size[2]}
        out["service_accounts"][("ns", "sa")] = {"stack": sa_stack, "status": "CREATE_COMPLETE",
                                                 "policy": policy or POLICY}
        out["oidc_associated"] = True
    return out


class _Cfn:
    """CloudFormation events of a failed create (moto cannot put a stack into ROLLBACK_COMPLETE)."""

    def describe_stack_events(self, StackName):
        return {"StackEvents": [
            {"LogicalResourceId": StackName, "ResourceStatus": "ROLLBACK_COMPLETE"},
            {"LogicalResourceId": "ControlPlane", "ResourceStatus": "CREATE_FAILED",
             "ResourceStatusReason": "Cannot create cluster: subnets in unsupported AZ us-east-1e"},
        ]}


def test_failed_stack_named_with_its_events_or_deleted_first():
    st = state(cluster=False, stacks={f"eksctl-{NAME}-cluster": "ROLLBACK_COMPLETE"})
    with pytest.raises(ClusterError) as err:
        planning.build_plan(config(), st, config_file="c.yaml", cfn=_Cfn())
    msg = str(err.value)
    assert f"eksctl-{NAME}-cluster is ROLLBACK_COMPLETE" in msg and "unsupported AZ" in msg
    assert "on_failed_stack: delete" in msg
    plan = planning.build_plan(config(), st, config_file="c.yaml", cfn=_Cfn(), on_failed_stack="delete")
    assert plan.delete_stacks == [f"eksctl-{NAME}-cluster"]
    assert plan.commands == [["eksctl", "create", "cluster", "-f", "c.yaml", "--write-kubeconfig=false",
                              "--timeout=2400s"]]


def test_in_sync_is_no_change_and_a_plan():
    plan = planning.build_plan(config(), state(), config_file="c.yaml")
    assert isinstance(plan, PlanBase)
    assert not plan.changed and plan.commands == [] and plan.warnings == []
    assert plan.diff() == {"before": plan.before, "after": plan.after} and plan.before == plan.after


def test_policy_compared_as_json_whatever_its_spelling():
    # the stack holds the policy as a JSON string with single-item lists: the same policy, no update
    stored = json.dumps({"Statement": [{"Resource": ["*"], "Action": ["s3:GetObject"], "Effect": "Allow"}],
                         "Version": "2012-10-17"})
    assert not planning.build_plan(config(), state(policy=stored), config_file="c.yaml").changed
    other = dict(POLICY, Statement=[dict(POLICY["Statement"][0], Action="s3:PutObject")])
    plan = planning.build_plan(config(policy=other), state(), config_file="c.yaml")
    assert plan.commands == [["eksctl", "update", "iamserviceaccount", "-f", "c.yaml", "--include", "ns/sa",
                              "--approve", "--timeout=2400s"]]


def test_upgrade_one_minor_at_a_time_and_scale():
    plan = planning.build_plan(config(version="1.34"), state(version="1.32", size=(1, 10, 2)), config_file="c.yaml")
    verbs = [" ".join(c[1:3]) for c in plan.commands]
    assert verbs == ["upgrade cluster", "upgrade cluster", "utils update-kube-proxy", "utils update-aws-node",
                     "utils update-coredns", "scale nodegroup"]
    assert [c[c.index("--version") + 1] for c in plan.commands[:2]] == ["1.33", "1.34"]
    assert "--nodes=4" in plan.commands[-1]
    assert any("unmanaged node group" in w for w in plan.warnings)


def test_downgrade_and_bad_version_are_refused():
    with pytest.raises(ClusterError, match="downgrade"):
        planning.build_plan(config(version="1.30"), state(), config_file="c.yaml")
    with pytest.raises(ClusterError, match="not of the form"):
        planning.minor("latest")
