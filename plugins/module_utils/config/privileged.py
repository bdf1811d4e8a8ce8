# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Privileged settings of the eksctl ClusterConfig blocks an inventory may carry, and their opt-in.

The ClusterConfig the collection renders (:mod:`config.cluster_config`) is least privilege: IRSA roles with the
policies of :mod:`config.irsa` only, IMDSv2 on every node, no pod access to the node's credentials unless addon
policies need it. The free-form eksctl blocks of ``cluster`` can undo that; each setting below does, so it is
refused unless the inventory names it in ``cluster_privileged_settings`` (a list of the names of
:data:`SETTINGS`). :func:`errors` returns one message per setting used without that opt-in, each starting with the
key path at fault and naming the opt-in.

The settings are those of the inventory's ``cluster`` block; ``aws.iamUsers`` (each user mapped to
``system:masters``, the install guide's "IAM Master Users") is the documented way to name cluster admins and is
not one of them.
"""
from __future__ import annotations

import ipaddress

#: Opt-in name -> what the setting does (the reason in the message).
SETTINGS = {
    "adminPolicies": "administrator rights in the AWS account: AdministratorAccess, PowerUserAccess, IAMFullAccess "
                     "or a policy allowing every action on every resource",
    "iamIdentityMappings": "a cluster admin (system:masters) or another AWS account let into the cluster",
    "accessEntries": "a cluster admin through an EKS access entry",
    "disableIMDSv1": "the node's credentials readable with IMDSv1, without a session token",
    "disablePodIMDS": "every pod on the node can read the node's IAM credentials from the instance metadata",
    "preBootstrapCommands": "shell commands run as root on every node",
    "overrideBootstrapCommand": "shell commands run as root on every node in place of its bootstrap",
    "publicAccessCIDRs": "the cluster's public API endpoint open to the whole Internet",
}
#: The inventory key that names the settings opted in to.
OPT_IN_KEY = "cluster_privileged_settings"
#: AWS managed policies that give administrator (or IAM administrator) rights, by name.
ADMIN_POLICY_NAMES = ("AdministratorAccess", "PowerUserAccess", "IAMFullAccess")
ADMIN_ACTIONS = ("*", "*:*", "iam:*")
#: ``accessConfig.accessEntries[].accessPolicies[].policyARN`` names that make a principal a cluster admin.
ADMIN_ACCESS_POLICIES = ("AmazonEKSClusterAdminPolicy", "AmazonEKSAdminPolicy")
MASTERS = "system:masters"
_NODE_GROUP_KEYS = ("nodeGroups", "managedNodeGroups")


def _list(value) -> list:
    return value if isinstance(value, list) else []


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def is_admin_policy_arn(arn) -> bool:
    """Whether ``arn`` is one of the AWS managed :data:`ADMIN_POLICY_NAMES` (``arn:aws:iam::aws:policy/...``)."""
    text = str(arn)
    return text.split(":", 5)[-1].startswith("policy/") and ":iam::aws:" in text and \
        text.rsplit("/", 1)[-1] in ADMIN_POLICY_NAMES


def is_admin_policy_document(doc) -> bool:
    """Whether the IAM policy document ``doc`` (a dict) has an ``Allow`` statement whose ``Action`` is ``*``,
    ``*:*`` or ``iam:*`` (or a ``NotAction``) on every resource (``*``) or with no ``Resource``."""
    statements = _dict(doc).get("Statement")
    for st in statements if isinstance(statements, list) else [statements]:
        st = _dict(st)
        if st.get("Effect", "Allow") != "Allow":
            continue
        actions = st.get("Action")
        actions = actions if isinstance(actions, list) else [actions]
        resources = st.get("Resource", "*")
        resources = resources if isinstance(resources, list) else [resources]
        if (any(a in ADMIN_ACTIONS for a in actions) or "NotAction" in st) and "*" in resources:
            return True
    return False


def _policies(where: str, block: dict, arn_keys, doc_keys) -> list[tuple[str, str]]:
    """``[(key path, what)]`` of ``block`` (at ``where``) that attach an admin policy."""
    out = []
    for key in arn_keys:
        out += [(f"{where}.{key}[{i}]", f"{arn!r} is an administrator policy")
                for i, arn in enumerate(_list(block.get(key))) if is_admin_policy_arn(arn)]
    for key in doc_keys:
        if is_admin_policy_document(block.get(key)):
            out.append((f"{where}.{key}", "allows every action on every resource"))
    return out


def _admin_policies(cluster: dict) -> list[tuple[str, str]]:
    iam = _dict(cluster.get("iam"))
    found = []
    for i, sa in enumerate(_list(iam.get("serviceAccounts"))):
        found += _policies(f"cluster.iam.serviceAccounts[{i}]", _dict(sa), ("attachPolicyARNs",), ("attachPolicy",))
    for i, pia in enumerate(_list(iam.get("podIdentityAssociations"))):
        found += _policies(f"cluster.iam.podIdentityAssociations[{i}]", _dict(pia), ("permissionPolicyARNs",),
                           ("permissionPolicy",))
    for i, addon in enumerate(_list(cluster.get("addons"))):
        found += _policies(f"cluster.addons[{i}]", _dict(addon), ("attachPolicyARNs",), ("attachPolicy",))
    for key in _NODE_GROUP_KEYS:
        for i, ng in enumerate(_list(cluster.get(key))):
            found += _policies(f"cluster.{key}[{i}].iam", _dict(_dict(ng).get("iam")), ("attachPolicyARNs",),
                               ("attachPolicy",))
    return found


def _identity_mappings(cluster: dict, account: str) -> list[tuple[str, str]]:
    out = []
    for i, m in enumerate(_list(cluster.get("iamIdentityMappings"))):
        m, where = _dict(m), f"cluster.iamIdentityMappings[{i}]"
        if MASTERS in _list(m.get("groups")):
            out.append((f"{where}.groups", f"maps {m.get('arn') or m.get('account')} to {MASTERS}"))
        parts = str(m.get("arn") or "").split(":")
        other = str(m["account"]) if m.get("account") is not None else parts[4] if len(parts) > 5 else ""
        if other and other != account:
            out.append((where, f"maps account {other}, not this cluster's account {account}"))
    return out


def _access_entries(cluster: dict) -> list[tuple[str, str]]:
    out = []
    for i, entry in enumerate(_list(_dict(cluster.get("accessConfig")).get("accessEntries"))):
        entry, where = _dict(entry), f"cluster.accessConfig.accessEntries[{i}]"
        if MASTERS in _list(entry.get("kubernetesGroups")):
            out.append((f"{where}.kubernetesGroups", f"includes {MASTERS}"))
        for j, pol in enumerate(_list(entry.get("accessPolicies"))):
            arn = str(_dict(pol).get("policyARN", ""))
            if arn.rsplit("/", 1)[-1] in ADMIN_ACCESS_POLICIES:
                out.append((f"{where}.accessPolicies[{j}].policyARN", f"{arn!r} is a cluster admin policy"))
    return out


def _world_open(cidrs) -> bool:
    for cidr in _list(cidrs):
        try:
            if ipaddress.ip_network(str(cidr), strict=False).prefixlen == 0:
                return True
        except ValueError:
            continue   # a malformed CIDR is eksctl's to refuse; this check is about /0
    return False


def errors(values: dict) -> list[str]:
    """One message per privileged setting of ``values['cluster']`` not named in ``cluster_privileged_settings``,
    each starting with the key path at fault. ``values``: inventory values the schema accepted."""
    allowed = set(values.get(OPT_IN_KEY) or [])
    cluster = _dict(values.get("cluster"))
    account = str(_dict(values.get("aws")).get("accountNumber", ""))
    found: list[tuple[str, str, str]] = []   # (opt-in, key path, detail)
    found += [("adminPolicies", where, what) for where, what in _admin_policies(cluster)]
    found += [("iamIdentityMappings", where, what) for where, what in _identity_mappings(cluster, account)]
    found += [("accessEntries", where, what) for where, what in _access_entries(cluster)]
    for key in _NODE_GROUP_KEYS:
        for i, ng in enumerate(_list(cluster.get(key))):
            ng, where = _dict(ng), f"cluster.{key}[{i}]"
            for flag in ("disableIMDSv1", "disablePodIMDS"):
                if ng.get(flag) is False:
                    found.append((flag, f"{where}.{flag}", "is false"))
            for cmd in ("preBootstrapCommands", "overrideBootstrapCommand"):
                if ng.get(cmd):
                    found.append((cmd, f"{where}.{cmd}", "is set"))
    vpc = _dict(cluster.get("vpc"))
    endpoints = _dict(vpc.get("clusterEndpoints"))
    if _world_open(vpc.get("publicAccessCIDRs")):
        found.append(("publicAccessCIDRs", "cluster.vpc.publicAccessCIDRs", "includes 0.0.0.0/0"))
    elif endpoints.get("publicAccess") is True and not vpc.get("publicAccessCIDRs"):
        found.append(("publicAccessCIDRs", "cluster.vpc.clusterEndpoints.publicAccess",
                      "is true with no cluster.vpc.publicAccessCIDRs (eksctl then allows 0.0.0.0/0)"))
    return [f"{where}: {what}: a privileged setting ({SETTINGS[name]}); remove it, or opt in with "
            f"{OPT_IN_KEY}: [{name}]" for name, where, what in found if name not in allowed]
