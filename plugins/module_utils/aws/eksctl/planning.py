# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Plan the eksctl commands that bring a cluster to its ClusterConfig.

:func:`build_plan` compares a ClusterConfig dict with the state read by :func:`state.read_state` and returns a
:class:`Plan`: the eksctl argv lists to run (in order), CloudFormation stacks to delete first
(``on_failed_stack: delete``), warnings and a before/after view of the ClusterConfig for ``--diff``. It runs
nothing; :func:`runner.apply_plan` carries the plan out.
"""
from __future__ import annotations

import copy
import json

from ansible_collections.tidepool.eks.plugins.module_utils.common.plan import Plan as PlanBase
from ansible_collections.tidepool.eks.plugins.module_utils.aws.eksctl.state import (
    DELETABLE_STACK_STATES, FAILED_STACK_STATES, ClusterError, failed_message, json_value)

DEFAULT_WAIT_TIMEOUT = 2400  # seconds: a cluster with node groups takes 15-20 min
_NOT_JSON = object()


def minor(version) -> tuple[int, int]:
    """``"1.34"`` -> ``(1, 34)``. Raises ClusterError for anything else."""
    try:
        major, minor_ = str(version).split(".")[:2]
        return int(major), int(minor_)
    except (ValueError, AttributeError):
        raise ClusterError(f"Kubernetes version {version!r} is not of the form 1.NN (metadata.version).") from None


class Plan(PlanBase):
    """The eksctl commands to run (argv lists, in order), the failed stacks to delete before them, warnings, and
    the before/after views of the ClusterConfig that ``diff()`` shows. ``creates``: the cluster is created."""

    def __init__(self, name: str, region: str):
        self.name = name
        self.region = region
        self.commands: list[list[str]] = []
        self.delete_stacks: list[str] = []
        self.warnings: list[str] = []
        self.before: dict = {}
        self.after: dict = {}
        self.creates = False

    @property
    def changed(self) -> bool:
        return bool(self.commands or self.delete_stacks)

    def diff(self) -> dict:
        return {"before": self.before, "after": self.after}


def config_nodegroups(config: dict) -> dict:
    """{name: (node group dict, managed?)} of ``nodeGroups`` and ``managedNodeGroups``."""
    out = {}
    for key, managed in (("nodeGroups", False), ("managedNodeGroups", True)):
        for ng in config.get(key) or []:
            if not isinstance(ng, dict) or not ng.get("name"):
                raise ClusterError(f"Every entry of {key} needs a name (config {key}).")
            if ng["name"] in out:
                raise ClusterError(f"Node group {ng['name']!r} is listed twice (config nodeGroups/managedNodeGroups).")
            out[ng["name"]] = (ng, managed)
    return out


def config_service_accounts(config: dict) -> list[dict]:
    return list(((config.get("iam") or {}).get("serviceAccounts")) or [])


def sa_key(sa: dict) -> tuple[str, str]:
    meta = sa.get("metadata") or {}
    return meta.get("namespace") or "default", meta.get("name")


def _view(config_or_state, is_state=False) -> dict:
    """The part of a ClusterConfig this module reconciles (for --diff)."""
    if is_state:
        st = config_or_state
        c = st.get("cluster")
        if not c and not st["nodegroups"]:
            return {}
        return {
            "metadata": {"name": (c or {}).get("name"), "version": (c or {}).get("version")},
            "nodeGroups": [{k: ng.get(k) for k in ("name", "minSize", "maxSize", "desiredCapacity")}
                           for ng in sorted(st["nodegroups"].values(), key=lambda n: n["name"])],
            "iam": {"serviceAccounts": sorted(f"{ns}/{sa}" for ns, sa in st["service_accounts"])},
        }
    cfg = config_or_state
    return {
        "metadata": {"name": cfg["metadata"]["name"], "version": str(cfg["metadata"].get("version"))},
        "nodeGroups": [{"name": n, "minSize": ng.get("minSize"), "maxSize": ng.get("maxSize"),
                        "desiredCapacity": ng.get("desiredCapacity")}
                       for n, (ng, _m) in sorted(config_nodegroups(cfg).items())],
        "iam": {"serviceAccounts": sorted(f"{ns}/{sa}" for ns, sa in map(sa_key, config_service_accounts(cfg)))},
    }


def _normalise_policy(doc):
    if doc is None:
        return None
    parsed = json_value(doc, invalid=_NOT_JSON)
    if parsed is _NOT_JSON:
        return doc
    doc = copy.deepcopy(parsed)
    stmts = doc.get("Statement") if isinstance(doc, dict) else None
    if isinstance(stmts, dict):
        stmts = [stmts]
    for st in stmts or []:
        for key in ("Action", "Resource"):
            if isinstance(st.get(key), str):
                st[key] = [st[key]]
    if isinstance(doc, dict) and stmts is not None:
        doc["Statement"] = stmts
    return json.dumps(doc, sort_keys=True)


def build_plan(config: dict, state: dict, *, config_file: str, state_wanted: str = "present",
               eksctl: str = "eksctl", kubeconfig: str | None = None, prune_nodegroups: bool = False,
               on_failed_stack: str = "fail", wait_timeout: int = DEFAULT_WAIT_TIMEOUT,
               kubeconfig_has_cluster=None, cfn=None, scope: str = "cluster") -> Plan:
    """Plan the eksctl commands that bring ``state`` (from :func:`read_state`) to ``config``.

    ``config_file`` is the path the commands pass to ``-f``; ``kubeconfig`` the path (already expanded) eksctl
    writes or merges; ``kubeconfig_has_cluster(endpoint)`` tells whether that file already points at the
    cluster. ``cfn`` (a CloudFormation client) is used to name failure events of failed stacks.
    ``scope="irsa"`` reconciles only the IAM OIDC provider and the IRSA service accounts of an EKS cluster that
    exists (one eksctl did not create, used as ``cluster_provider: existing``).
    Raises ClusterError for a config that cannot be reconciled (downgrade, failed stacks with
    ``on_failed_stack: fail``, ``scope="irsa"`` without the cluster).
    """
    meta = config.get("metadata") or {}
    name, region = meta.get("name"), meta.get("region")
    if not name or not region:
        raise ClusterError("The ClusterConfig needs metadata.name and metadata.region (option config).")
    plan = Plan(name, region)
    plan.before = _view(state, is_state=True)
    cluster = state.get("cluster")
    base = [eksctl]
    timeout = f"--timeout={int(wait_timeout)}s"

    if state_wanted == "absent":
        plan.after = {}
        if cluster or state["stacks"]:
            plan.commands.append(base + ["delete", "cluster", "-f", config_file, "--wait", timeout])
        return plan

    if scope == "irsa":
        if not cluster:
            raise ClusterError(f"EKS cluster {name} does not exist in {region}: IRSA service accounts need an EKS "
                               "cluster (for a cluster that is not EKS, leave cluster_existing_eks false).")
        plan.before = {"iam": (plan.before or {}).get("iam", {"serviceAccounts": []})}
        plan.after = {"iam": _view(config)["iam"]}
        _plan_irsa(plan, config, state, base, config_file, name, ["--region", region], timeout, set(),
                   override=True)
        return plan

    plan.after = _view(config)
    failed = {s: st for s, st in state["stacks"].items() if st in FAILED_STACK_STATES}
    if failed:
        if on_failed_stack == "delete":
            for stack, st in sorted(failed.items()):
                if st in DELETABLE_STACK_STATES:
                    plan.delete_stacks.append(stack)
                else:
                    raise ClusterError(failed_message(stack, st, cfn) + " It cannot be deleted safely "
                                       f"in state {st}; continue or roll back the update in the CloudFormation console.")
        else:
            stack, st = sorted(failed.items())[0]
            raise ClusterError(failed_message(stack, st, cfn) + " Delete it (option on_failed_stack: delete) and "
                               "run again.")
    deleted_stacks = set(plan.delete_stacks)
    want_ngs = config_nodegroups(config)
    kube_flags = ["--kubeconfig", kubeconfig] if kubeconfig else ["--write-kubeconfig=false"]

    if not cluster:
        plan.creates = True
        plan.commands.append(base + ["create", "cluster", "-f", config_file, *kube_flags, timeout])
        return plan

    if cluster.get("status") not in ("ACTIVE", None):
        plan.warnings.append(f"Cluster {name} is {cluster.get('status')}; eksctl commands may wait for it.")

    # Control plane version, one minor at a time, then node groups and the default add-ons.
    have, want = minor(cluster.get("version")), minor(meta.get("version") or cluster.get("version"))
    if want < have:
        raise ClusterError(f"Cluster {name} runs Kubernetes {cluster.get('version')}; metadata.version "
                           f"{meta.get('version')} would be a downgrade, which EKS does not support.")
    region_flags = ["--region", region]
    upgraded = []
    for m in range(have[1] + 1, want[1] + 1):
        v = f"{want[0]}.{m}"
        upgraded.append(v)
        plan.commands.append(base + ["upgrade", "cluster", "--name", name, *region_flags, "--version", v,
                                     "--approve", timeout])
    if upgraded:
        for addon in ("update-kube-proxy", "update-aws-node", "update-coredns"):
            plan.commands.append(base + ["utils", addon, "--cluster", name, *region_flags, "--approve"])

    # Node groups: create missing, scale changed, prune removed.
    have_ngs = {n: ng for n, ng in state["nodegroups"].items() if ng["stack"] not in deleted_stacks}
    missing = [n for n in want_ngs if n not in have_ngs]
    if missing:
        plan.commands.append(base + ["create", "nodegroup", "-f", config_file, "--include", ",".join(missing),
                                     timeout])
    for n, (ng, _managed) in want_ngs.items():
        cur = have_ngs.get(n)
        if not cur:
            continue
        wanted = {k: ng.get(k) for k in ("minSize", "maxSize", "desiredCapacity")}
        if all(cur.get(k) is None for k in wanted):
            plan.warnings.append(f"Could not read the size of node group {n}; not scaled.")
            continue
        if any(wanted[k] is not None and wanted[k] != cur.get(k) for k in wanted):
            cmd = base + ["scale", "nodegroup", "--cluster", name, *region_flags, "--name", n]
            if wanted["desiredCapacity"] is not None:
                cmd.append(f"--nodes={wanted['desiredCapacity']}")
            if wanted["minSize"] is not None:
                cmd.append(f"--nodes-min={wanted['minSize']}")
            if wanted["maxSize"] is not None:
                cmd.append(f"--nodes-max={wanted['maxSize']}")
            plan.commands.append(cmd + ["--wait", timeout])
        if upgraded and cur.get("managed"):
            plan.commands.append(base + ["upgrade", "nodegroup", "--cluster", name, *region_flags, "--name", n,
                                         "--kubernetes-version", upgraded[-1], "--wait", timeout])
        elif upgraded:
            plan.warnings.append(f"Node group {n} is an unmanaged node group: eksctl cannot upgrade it in place; "
                                 f"add a node group with a new name (it gets {upgraded[-1]}) and remove {n} with "
                                 "prune_nodegroups.")
    removed = sorted(n for n in have_ngs if n not in want_ngs)
    for n in removed:
        if prune_nodegroups:
            plan.commands.append(base + ["delete", "nodegroup", "--cluster", name, *region_flags, "--name", n,
                                         "--drain=true", "--wait", timeout])
        else:
            plan.warnings.append(f"Node group {n} exists but is not in the ClusterConfig; it is kept "
                                 "(prune_nodegroups: true deletes it, drained first).")

    _plan_irsa(plan, config, state, base, config_file, name, region_flags, timeout, deleted_stacks)

    # Identity mappings (iamIdentityMappings) are created with the cluster; they live in the cluster (aws-auth),
    # which boto3 cannot read, so they are not reconciled on an existing cluster.
    if config.get("iamIdentityMappings"):
        plan.warnings.append("iamIdentityMappings are applied when the cluster is created; on an existing cluster "
                             "run `eksctl create iamidentitymapping -f <config>` for new ones.")

    if kubeconfig and not (kubeconfig_has_cluster and kubeconfig_has_cluster(cluster.get("endpoint"))):
        plan.commands.append(base + ["utils", "write-kubeconfig", "--cluster", name, *region_flags,
                                     "--kubeconfig", kubeconfig])
    return plan


def _plan_irsa(plan, config, state, base, config_file, name, region_flags, timeout, deleted_stacks, override=False):
    """IRSA: associate the OIDC provider when missing, then create missing and update changed service accounts.
    ``override`` adds ``--override-existing-serviceaccounts`` (Kubernetes service accounts created before, without
    the role annotation, get it)."""
    sas = config_service_accounts(config)
    if sas and state.get("oidc_associated") is False:
        plan.commands.append(base + ["utils", "associate-iam-oidc-provider", "--cluster", name, *region_flags,
                                     "--approve"])
    create, update = [], []
    for sa in sas:
        key = sa_key(sa)
        cur = state["service_accounts"].get(key)
        if cur is None or cur["stack"] in deleted_stacks:
            create.append(key)
        elif sa.get("attachPolicy") and cur.get("policy") is not None and \
                _normalise_policy(sa["attachPolicy"]) != _normalise_policy(cur["policy"]):
            update.append(key)
    extra = ["--override-existing-serviceaccounts"] if override else []
    if create:
        plan.commands.append(base + ["create", "iamserviceaccount", "-f", config_file, "--include",
                                     ",".join(f"{ns}/{n}" for ns, n in create), *extra, "--approve", timeout])
    if update:
        plan.commands.append(base + ["update", "iamserviceaccount", "-f", config_file, "--include",
                                     ",".join(f"{ns}/{n}" for ns, n in update), "--approve", timeout])
