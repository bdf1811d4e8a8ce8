# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""The whole eksctl ``ClusterConfig`` (``eksctl.io/v1alpha5``) of a cluster, built in one place.

* :func:`cluster_config` is the file the config role commits (``clusters/<cluster>/eksctl/cluster-config.yaml``):
  the inventory's ``cluster`` with defaults, node group auto-discovery tags, OIDC and the IRSA service accounts
  of :mod:`config.irsa`;
* :func:`eksctl_cluster_config` is what ``eksctl_cluster`` is given (filter ``eksctl_cluster_config``): the same
  plus ``iamIdentityMappings`` for the inventory's ``aws.iamUsers`` (:func:`with_identity_mappings`).
"""
from __future__ import annotations

import copy

from ansible_collections.tidepool.eks.plugins.module_utils.config import inventory
from ansible_collections.tidepool.eks.plugins.module_utils.config import irsa


def cluster_config(values: dict, flavour) -> dict:
    """The eksctl ``ClusterConfig`` (``eksctl.io/v1alpha5``) of the cluster; ``flavour``: the GitOps flavour
    (:class:`gitops.flavour.Flavour`) whose secrets readers get IRSA roles.

    ``metadata`` = ``cluster.metadata`` with ``version`` defaulted; ``vpc`` = ``cluster.vpc``; every node
    group gets the two cluster-autoscaler auto-discovery tags, ``disableIMDSv1`` (unless set), only the addon policies it
    sets true and, when it has none (eksctl refuses both), ``disablePodIMDS`` (unless set); ``iam.withOIDC: true`` and the IRSA
    service accounts of :func:`irsa.irsa_service_accounts` (after any the inventory lists in
    ``cluster.iam.serviceAccounts``). Other keys of ``cluster`` (``availabilityZones``, ``cloudWatch``,
    ``managedNodeGroups``...) pass through unchanged.
    """
    src = values["cluster"]
    name = inventory.cluster_name(values)
    cfg = {"apiVersion": "eksctl.io/v1alpha5", "kind": "ClusterConfig"}
    meta = copy.deepcopy(src["metadata"])
    meta["version"] = inventory.kubernetes_version(values)
    cfg["metadata"] = meta
    node_groups = []
    for ng in src.get("nodeGroups") or []:
        ng = copy.deepcopy(ng)
        tags = dict(ng.get("tags") or {})
        tags.setdefault("k8s.io/cluster-autoscaler/enabled", "true")
        tags.setdefault(f"k8s.io/cluster-autoscaler/{name}", "true")
        ng["tags"] = tags
        # Least privilege on the node: IMDSv2 only, and pods cannot reach the instance's credentials (they use
        # IRSA); the node role gets no addon policy the node group does not ask for.
        ng.setdefault("disableIMDSv1", True)
        if "withAddonPolicies" in (ng.get("iam") or {}):
            asked = ng["iam"]["withAddonPolicies"] or {}
            ng["iam"]["withAddonPolicies"] = {k: v for k, v in asked.items() if v}
        if not (ng.get("iam") or {}).get("withAddonPolicies"):  # eksctl: addon policies need pod IMDS
            ng.setdefault("disablePodIMDS", True)
        node_groups.append(ng)
    if node_groups:
        cfg["nodeGroups"] = node_groups
    if src.get("vpc"):
        cfg["vpc"] = copy.deepcopy(src["vpc"])
    iam = copy.deepcopy(src.get("iam") or {})
    iam["withOIDC"] = True
    iam["serviceAccounts"] = list(iam.get("serviceAccounts") or []) + irsa.irsa_service_accounts(values, flavour)
    cfg["iam"] = iam
    for key, value in src.items():
        if key not in ("metadata", "nodeGroups", "vpc", "iam"):
            cfg[key] = copy.deepcopy(value)
    return cfg


def identity_mappings(values: dict) -> list[dict]:
    """``iamIdentityMappings`` for the inventory's ``aws.iamUsers`` (the guide's "IAM Master Users"):
    each user is mapped to ``system:masters`` under its own user name."""
    account = inventory.account(values)
    return [{"arn": f"arn:aws:iam::{account}:user/{user}", "username": user, "groups": ["system:masters"]}
            for user in values["aws"].get("iamUsers") or []]


def with_identity_mappings(config: dict, values: dict) -> dict:
    """The ClusterConfig plus the identity mappings of :func:`identity_mappings` (after any it already has)."""
    out = copy.deepcopy(config)
    mappings = list(out.get("iamIdentityMappings") or [])
    known = {m.get("arn") for m in mappings}
    mappings += [m for m in identity_mappings(values) if m["arn"] not in known]
    if mappings:
        out["iamIdentityMappings"] = mappings
    return out


def eksctl_cluster_config(values: dict, flavour) -> dict:
    """The ClusterConfig ``eksctl_cluster`` creates the cluster from: :func:`cluster_config` with the identity
    mappings of :func:`identity_mappings`."""
    return with_identity_mappings(cluster_config(values, flavour), values)
