# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""EKS access entries for the install guide's IAM master users (the access-entry alternative to aws-auth).

Each wanted IAM principal (the inventory's ``aws.iamUsers`` as ``arn:aws:iam::<account>:user/<name>``) gets an
EKS access entry of type ``STANDARD`` with an access policy (default ``AmazonEKSClusterAdminPolicy``, the access-entry
equivalent of ``system:masters``) associated at cluster scope.

Additive only: entries of other principals (node roles, users managed elsewhere) are never read in detail, changed
or deleted; an entry of a wanted principal that exists but lacks the policy at cluster scope only gets the
association; other policies associated with it are kept.

Two parts, plain Python (no Ansible imports):

* :func:`plan_actions` - pure: the current entries and the wanted principal ARNs -> the list of actions;
* :func:`ensure` - the executor: reads the cluster with a boto3 EKS client (DescribeCluster, ListAccessEntries,
  ListAssociatedAccessPolicies), plans, and (outside check mode) runs CreateAccessEntry / AssociateAccessPolicy.

Every failure is an :class:`AccessEntriesError` with one sentence naming the cluster and the region.
"""
from __future__ import annotations

import re

from ansible_collections.tidepool.eks.plugins.module_utils.aws import connection as aws
from ansible_collections.tidepool.eks.plugins.module_utils.common.errors import TidepoolError

#: The access policy that grants what ``system:masters`` grants (cluster-admin on every resource).
ADMIN_POLICY_ARN = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
#: Type of the access entries created (IAM users and roles of people, not node roles).
ENTRY_TYPE = "STANDARD"
#: Scope of the associations created.
CLUSTER_SCOPE = {"type": "cluster"}
#: Authentication modes of an EKS cluster (``cluster.accessConfig.authenticationMode``).
CONFIG_MAP = "CONFIG_MAP"
API_AND_CONFIG_MAP = "API_AND_CONFIG_MAP"
API = "API"

CREATE_ENTRY = "create_entry"
ASSOCIATE_POLICY = "associate_policy"

_PRINCIPAL_RE = re.compile(r"^arn:aws[a-z-]*:iam::[0-9]{12}:(user|role)/[\w+=,.@/-]+$")
_POLICY_RE = re.compile(r"^arn:aws[a-z-]*:eks::aws:cluster-access-policy/[\w+=,.@-]+$")


class AccessEntriesError(TidepoolError):
    """A refusal or an AWS failure, phrased as one sentence naming the cluster (and the region when known)."""


# ---------------------------------------------------------------------------------------------
# Planning (pure)
# ---------------------------------------------------------------------------------------------

def has_cluster_policy(policies: list | None, policy_arn: str) -> bool:
    """Whether ``policies`` (ListAssociatedAccessPolicies' ``associatedAccessPolicies`` items: dicts with
    ``policyArn`` and ``accessScope: {type: cluster|namespace, namespaces: [...]}``) holds ``policy_arn`` at
    cluster scope. A namespace-scoped association of the same policy does not count."""
    for item in policies or []:
        scope = (item.get("accessScope") or {}).get("type")
        if item.get("policyArn") == policy_arn and scope == "cluster":
            return True
    return False


def plan_actions(current: dict, wanted: list, policy_arn: str = ADMIN_POLICY_ARN) -> list[dict]:
    """The actions that give every principal of ``wanted`` an entry with ``policy_arn`` at cluster scope.

    ``current`` maps the principal ARN of every access entry the cluster has to the list of its associated
    policies (ListAssociatedAccessPolicies' ``associatedAccessPolicies`` items), or to ``None`` when they were not
    read (principals that are not wanted). ``wanted`` is a list of IAM principal ARNs (repeats are ignored; the
    order is kept).

    Returns a list of dicts, in the order they must run:

    * ``{"action": "create_entry", "principal_arn": <arn>, "type": "STANDARD"}`` for a principal without an entry;
    * ``{"action": "associate_policy", "principal_arn": <arn>, "policy_arn": <policy>,
      "access_scope": {"type": "cluster"}}`` for a new entry, and for an existing one lacking the policy at
      cluster scope (a namespace-scoped association of it is widened to the cluster).

    Principals not in ``wanted`` never appear: nothing is deleted or changed for them. An empty list means
    nothing to do. Never raises for well-formed input.
    """
    actions = []
    for arn in _unique(wanted):
        if arn not in current:
            actions.append({"action": CREATE_ENTRY, "principal_arn": arn, "type": ENTRY_TYPE})
            actions.append(_associate(arn, policy_arn))
        elif not has_cluster_policy(current[arn], policy_arn):
            actions.append(_associate(arn, policy_arn))
    return actions


def entries_view(current: dict, wanted: list) -> list[dict]:
    """The wanted principals' entries as returned and diffed: a list (in ``wanted`` order) of
    ``{"principal_arn": <arn>, "access_policies": [{"policy_arn": <arn>, "access_scope": {"type": ...,
    "namespaces": [...]}}]}`` for the principals that have an entry in ``current`` (others are left out)."""
    out = []
    for arn in _unique(wanted):
        if arn not in current:
            continue
        policies = []
        for item in current[arn] or []:
            scope = dict(item.get("accessScope") or {})
            policies.append({"policy_arn": item.get("policyArn"),
                             "access_scope": {"type": scope.get("type"), "namespaces": list(scope.get("namespaces") or [])}})
        out.append({"principal_arn": arn, "access_policies": policies})
    return out


def apply_to_state(current: dict, actions: list) -> dict:
    """``current`` (same shape as in :func:`plan_actions`) as it is once ``actions`` have run (a new dict; for
    check mode's prediction and the result after the writes). A cluster-scope association replaces an
    association of the same policy with another scope."""
    state = {arn: (None if policies is None else [dict(p) for p in policies]) for arn, policies in current.items()}
    for act in actions:
        arn = act["principal_arn"]
        if act["action"] == CREATE_ENTRY:
            state.setdefault(arn, [])
        elif act["action"] == ASSOCIATE_POLICY:
            kept = [p for p in state.get(arn) or [] if p.get("policyArn") != act["policy_arn"]]
            state[arn] = kept + [{"policyArn": act["policy_arn"], "accessScope": {"type": "cluster", "namespaces": []}}]
    return state


def validate(cluster: str, principal_arns: list, policy_arn: str) -> None:
    """Raises :class:`AccessEntriesError` for an empty cluster name, a principal that is not an IAM user or role
    ARN, or a policy that is not an EKS cluster access policy ARN."""
    if not cluster:
        raise AccessEntriesError("Option cluster (the EKS cluster name, cluster.metadata.name) is empty.")
    for arn in principal_arns or []:
        if not isinstance(arn, str) or not _PRINCIPAL_RE.match(arn):
            raise AccessEntriesError(f"principal_arns: {arn!r} is not an IAM user or role ARN "
                                     "(arn:aws:iam::<account>:user/<name> or :role/<name>).")
    if not _POLICY_RE.match(policy_arn or ""):
        raise AccessEntriesError(f"access_policy_arn: {policy_arn!r} is not an EKS cluster access policy ARN "
                                 "(arn:aws:eks::aws:cluster-access-policy/<name>).")


# ---------------------------------------------------------------------------------------------
# Executor (boto3 EKS client)
# ---------------------------------------------------------------------------------------------

def authentication_mode(client, cluster: str) -> str | None:
    """``accessConfig.authenticationMode`` of ``cluster`` (DescribeCluster); ``None`` when AWS does not say.

    Raises :class:`AccessEntriesError`: the cluster does not exist (ResourceNotFoundException), access denied,
    or any other AWS failure - naming the cluster and the region.
    """
    found = _call(client, cluster, "describe_cluster", name=cluster)
    return ((found.get("cluster") or {}).get("accessConfig") or {}).get("authenticationMode")


def read_entries(client, cluster: str, wanted: list) -> dict:
    """Every access entry of ``cluster`` -> the ``current`` dict of :func:`plan_actions`.

    ListAccessEntries is followed through ``nextToken`` until the last page. The associated policies are read
    (ListAssociatedAccessPolicies, also paginated) only for the principals of ``wanted`` that have an entry;
    the others map to ``None``. Raises :class:`AccessEntriesError` like :func:`authentication_mode`.
    """
    current = {}
    token = None
    while True:
        kwargs = {"clusterName": cluster}
        if token:
            kwargs["nextToken"] = token
        page = _call(client, cluster, "list_access_entries", **kwargs)
        for arn in page.get("accessEntries") or []:
            current.setdefault(arn, None)
        token = page.get("nextToken")
        if not token:
            break
    for arn in _unique(wanted):
        if arn in current:
            current[arn] = _associated_policies(client, cluster, arn)
    return current


def ensure(client, cluster: str, principal_arns: list, policy_arn: str = ADMIN_POLICY_ARN,
           check_mode: bool = False) -> dict:
    """Give every principal of ``principal_arns`` an entry with ``policy_arn`` at cluster scope on ``cluster``.

    ``client`` is a boto3 EKS client of the cluster's region. With ``check_mode`` only DescribeCluster and the
    List calls are made. With no principals nothing is called.

    Returns ``{"changed": bool, "actions": [...] (see :func:`plan_actions`), "entries": [...] (see
    :func:`entries_view`; after the task, predicted in check mode), "authentication_mode": str | None,
    "diff": {"before": {"access_entries": [...]}, "after": {"access_entries": [...]}}}``.

    Raises :class:`AccessEntriesError` (before any write) when the cluster's authentication mode is
    ``CONFIG_MAP`` (no access entries there), for bad input (see :func:`validate`), and for any AWS failure
    (missing cluster, access denied...), naming the cluster and the region.
    """
    wanted = _unique(principal_arns or [])
    validate(cluster, wanted, policy_arn)
    if not wanted:
        empty = {"access_entries": []}
        return {"changed": False, "actions": [], "entries": [], "authentication_mode": None,
                "diff": {"before": empty, "after": dict(empty)}}
    mode = authentication_mode(client, cluster)
    if mode == CONFIG_MAP:
        raise AccessEntriesError(
            f"EKS cluster {cluster} ({_region(client)}) has authenticationMode {CONFIG_MAP}: it has no access "
            f"entries. Switch it to {API_AND_CONFIG_MAP} (aws eks update-cluster-config --name {cluster} "
            f"--access-config authenticationMode={API_AND_CONFIG_MAP}; it cannot be switched back) or use "
            "cluster_iam_users_mapping: aws-auth.")
    current = read_entries(client, cluster, wanted)
    actions = plan_actions(current, wanted, policy_arn)
    after = apply_to_state(current, actions)
    if not check_mode:
        for act in actions:
            _run(client, cluster, act)
    return {"changed": bool(actions), "actions": actions, "entries": entries_view(after, wanted),
            "authentication_mode": mode,
            "diff": {"before": {"access_entries": entries_view(current, wanted)},
                     "after": {"access_entries": entries_view(after, wanted)}}}


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------

def _unique(items) -> list:
    seen, out = set(), []
    for item in items or []:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out


def _associate(arn: str, policy_arn: str) -> dict:
    return {"action": ASSOCIATE_POLICY, "principal_arn": arn, "policy_arn": policy_arn,
            "access_scope": dict(CLUSTER_SCOPE)}


def _associated_policies(client, cluster: str, arn: str) -> list:
    policies, token = [], None
    while True:
        kwargs = {"clusterName": cluster, "principalArn": arn}
        if token:
            kwargs["nextToken"] = token
        page = _call(client, cluster, "list_associated_access_policies", **kwargs)
        policies += page.get("associatedAccessPolicies") or []
        token = page.get("nextToken")
        if not token:
            return policies


def _run(client, cluster: str, act: dict) -> None:
    if act["action"] == CREATE_ENTRY:
        try:
            _call(client, cluster, "create_access_entry", clusterName=cluster, principalArn=act["principal_arn"],
                  type=act["type"])
        except AccessEntriesError as exc:
            # Created meanwhile by someone else: the association below is all that is left to do.
            if getattr(exc, "code", None) != "ResourceInUseException":
                raise
    elif act["action"] == ASSOCIATE_POLICY:
        _call(client, cluster, "associate_access_policy", clusterName=cluster, principalArn=act["principal_arn"],
              policyArn=act["policy_arn"], accessScope=dict(act["access_scope"]))


def _region(client) -> str:
    return getattr(getattr(client, "meta", None), "region_name", None) or "unknown region"


def _call(client, cluster: str, method: str, **kwargs):
    """``aws.call`` with the failure rephrased as one sentence naming the cluster and the region."""
    try:
        return aws.call(client, method, **kwargs)
    except aws.AwsError as exc:
        region = _region(client)
        if exc.code == "ResourceNotFoundException" and method == "describe_cluster":
            err = AccessEntriesError(f"EKS cluster {cluster} was not found in region {region} "
                                     "(ResourceNotFoundException); check cluster.metadata.name and "
                                     "cluster.metadata.region, or create the cluster first.")
        else:
            err = AccessEntriesError(f"EKS access entries of cluster {cluster} in region {region}: {exc}")
        err.code = exc.code
        raise err from None
