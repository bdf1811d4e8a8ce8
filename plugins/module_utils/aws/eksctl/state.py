# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""What exists of an eksctl cluster, read through boto3 only (so planning and check mode need no eksctl).

:func:`read_state` reads EKS DescribeCluster/ListNodegroups/DescribeNodegroup, the CloudFormation stacks
``eksctl-<cluster>-*`` and their resources, the Auto Scaling groups of unmanaged node groups and the IAM OIDC
providers. :func:`failure_events`, :func:`failed_stacks` and :func:`failed_message` name a failed stack and why
it failed. Stack names come from :mod:`naming` (``eksctl-<cluster>-cluster``, ``eksctl-<cluster>-nodegroup-<ng>``,
``eksctl-<cluster>-addon-iamserviceaccount-<ns>-<sa>``), which are eksctl's own conventions.
:class:`ClusterError` is the error of the whole ``eksctl`` package.
"""
from __future__ import annotations

import json

from ansible_collections.tidepool.eks.plugins.module_utils.aws import connection as aws
from ansible_collections.tidepool.eks.plugins.module_utils.common import naming
from ansible_collections.tidepool.eks.plugins.module_utils.common.errors import TidepoolError

#: CloudFormation states of a stack that failed and blocks a retry until it is deleted.
FAILED_STACK_STATES = ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "CREATE_FAILED", "DELETE_FAILED",
                       "UPDATE_ROLLBACK_FAILED")
#: Of those, the ones eksctl cannot recover from by itself and ``on_failed_stack: delete`` removes.
DELETABLE_STACK_STATES = ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "CREATE_FAILED", "DELETE_FAILED")
STACK_PREFIX = "eksctl-{}-"


class ClusterError(TidepoolError):
    """A failure phrased as one sentence for the user (what failed, which input or stack, what to do)."""


def json_value(value, invalid=None):
    """``value`` decoded when it is a JSON string (CloudFormation and IAM give documents either way), anything
    else as it is; ``invalid`` for a string that is not JSON."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return invalid


def not_found(exc) -> bool:
    """True when the AWS error says the resource (cluster, stack, IAM entity) does not exist."""
    return aws.error_code(exc) in ("ResourceNotFoundException", "ValidationError", "NoSuchEntity")


def read_state(clients: dict, name: str, service_accounts: list[tuple[str, str]] = ()) -> dict:
    """What exists of cluster ``name``.

    ``clients``: boto3 clients ``eks``, ``cloudformation``, ``autoscaling``, ``iam``. ``service_accounts``:
    the (namespace, name) pairs of the ClusterConfig, whose stacks are looked up by name. Returns
    ``{"cluster": dict|None, "stacks": {name: status}, "nodegroups": {ng: {...}}, "service_accounts":
    {(ns, sa): {"stack", "status", "policy"}}, "oidc_associated": bool|None}``.
    """
    eks, cfn = clients["eks"], clients["cloudformation"]
    try:
        cluster = aws.call(eks, "describe_cluster", name, name=name)["cluster"]
    except aws.AwsError as exc:
        if not not_found(exc):
            raise
        cluster = None
    prefix = STACK_PREFIX.format(name)
    stacks = {}
    kwargs = {}
    while True:
        page = aws.call(cfn, "list_stacks", prefix + "*", **kwargs)
        for s in page.get("StackSummaries", []):
            if s["StackName"].startswith(prefix) and s["StackStatus"] != "DELETE_COMPLETE":
                stacks[s["StackName"]] = s["StackStatus"]
        if not page.get("NextToken"):
            break
        kwargs["NextToken"] = page["NextToken"]

    nodegroups = {}
    managed = []
    if cluster:
        managed = aws.call(eks, "list_nodegroups", name, clusterName=name).get("nodegroups", [])
    for ng in managed:
        desc = aws.call(eks, "describe_nodegroup", ng, clusterName=name, nodegroupName=ng)["nodegroup"]
        sc = desc.get("scalingConfig") or {}
        nodegroups[ng] = {"name": ng, "managed": True, "status": desc.get("status"), "version": desc.get("version"),
                          "minSize": sc.get("minSize"), "maxSize": sc.get("maxSize"),
                          "desiredCapacity": sc.get("desiredSize"), "stack": naming.nodegroup_stack(name, ng)}
    ng_prefix = naming.nodegroup_stack(name, "")
    for stack, status in stacks.items():
        if not stack.startswith(ng_prefix):
            continue
        ng = stack[len(ng_prefix):]
        if ng in nodegroups:
            nodegroups[ng]["stack_status"] = status
            continue
        entry = {"name": ng, "managed": False, "status": status, "stack": stack, "stack_status": status,
                 "minSize": None, "maxSize": None, "desiredCapacity": None}
        if status not in FAILED_STACK_STATES and "autoscaling" in clients:
            entry.update(_asg_sizes(clients, stack))
        nodegroups[ng] = entry

    sas = {}
    for ns, sa in service_accounts:
        stack = naming.iamserviceaccount_stack(name, ns, sa)
        if stack in stacks:
            sas[(ns, sa)] = {"stack": stack, "status": stacks[stack], "policy": _stack_policy(cfn, stack)}

    oidc = None
    issuer = ((cluster or {}).get("identity") or {}).get("oidc", {}).get("issuer")
    if issuer and "iam" in clients:
        host = issuer.split("://", 1)[-1]
        arns = [p["Arn"] for p in aws.call(clients["iam"], "list_open_id_connect_providers").get(
            "OpenIDConnectProviderList", [])]
        oidc = any(a.endswith("oidc-provider/" + host) for a in arns)
    return {"cluster": cluster, "stacks": stacks, "nodegroups": nodegroups, "service_accounts": sas,
            "oidc_associated": oidc}


def _asg_sizes(clients, stack) -> dict:
    resources = aws.call(clients["cloudformation"], "describe_stack_resources", stack, StackName=stack)
    names = [r["PhysicalResourceId"] for r in resources.get("StackResources", [])
             if r["ResourceType"] == "AWS::AutoScaling::AutoScalingGroup" and r.get("PhysicalResourceId")]
    if not names:
        return {}
    groups = aws.call(clients["autoscaling"], "describe_auto_scaling_groups", stack,
                      AutoScalingGroupNames=names[:1]).get("AutoScalingGroups", [])
    if not groups:
        return {}
    g = groups[0]
    return {"minSize": g["MinSize"], "maxSize": g["MaxSize"], "desiredCapacity": g["DesiredCapacity"]}


def _stack_policy(cfn, stack):
    """The inline policy document of an iamserviceaccount stack (None when unreadable)."""
    try:
        body = aws.call(cfn, "get_template", stack, StackName=stack).get("TemplateBody")
    except aws.AwsError:
        return None
    body = json_value(body)
    for res in (body or {}).get("Resources", {}).values():
        props = res.get("Properties") or {}
        if res.get("Type") == "AWS::IAM::Policy" and props.get("PolicyDocument"):
            return props["PolicyDocument"]
        for pol in props.get("Policies") or []:
            if pol.get("PolicyDocument"):
                return pol["PolicyDocument"]
    return None


def failure_events(cfn, stack: str, limit: int = 5) -> list[str]:
    """Last ``limit`` failure reasons of a stack, newest first: ``"<LogicalId> <Status>: <reason>"``."""
    try:
        events = aws.call(cfn, "describe_stack_events", stack, StackName=stack).get("StackEvents", [])
    except aws.AwsError:
        return []
    out = []
    for ev in events:
        if ev.get("ResourceStatus", "").endswith("FAILED") and ev.get("ResourceStatusReason"):
            out.append(f"{ev.get('LogicalResourceId')} {ev['ResourceStatus']}: {ev['ResourceStatusReason']}")
        if len(out) >= limit:
            break
    return out


def cluster_summary(state: dict) -> dict:
    """The module's ``cluster`` return value."""
    c = state.get("cluster") or {}
    vpc = c.get("resourcesVpcConfig") or {}
    return {"name": c.get("name"), "status": c.get("status") or "absent", "version": c.get("version"),
            "endpoint": c.get("endpoint"), "vpc_id": vpc.get("vpcId"), "subnets": list(vpc.get("subnetIds") or []),
            "oidc_issuer": ((c.get("identity") or {}).get("oidc") or {}).get("issuer")}


def failed_message(stack, status, cfn) -> str:
    """``"CloudFormation stack <stack> is <status> (last failure events: ...)."``; no events without ``cfn``."""
    events = failure_events(cfn, stack) if cfn is not None else []
    msg = f"CloudFormation stack {stack} is {status}"
    if events:
        msg += " (last failure events: " + "; ".join(events) + ")"
    return msg + "."


def failed_stacks(cfn, name):
    """``[(stack name, status)]`` of the ``eksctl-<name>-*`` stacks in a failed state, sorted (``[]`` when the
    stacks cannot be listed)."""
    prefix = STACK_PREFIX.format(name)
    try:
        page = aws.call(cfn, "list_stacks", prefix + "*")
    except aws.AwsError:
        return []
    return sorted((s["StackName"], s["StackStatus"]) for s in page.get("StackSummaries", [])
                  if s["StackName"].startswith(prefix) and s["StackStatus"] in FAILED_STACK_STATES)
