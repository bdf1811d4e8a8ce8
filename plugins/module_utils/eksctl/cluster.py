# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Create, reconcile and delete an EKS cluster from an eksctl ClusterConfig (make_cluster, delete_cluster).

Shape (DESIGN.md "Style"): plan -> diff -> apply.

* :func:`read_state` reads what exists through boto3 only (EKS DescribeCluster/ListNodegroups/DescribeNodegroup,
  CloudFormation stacks ``eksctl-<cluster>-*`` and their resources, Auto Scaling groups of unmanaged node groups,
  IAM OIDC providers), so planning and check mode need no eksctl and run against a moto server.
* :func:`build_plan` compares a ClusterConfig dict with that state and returns a :class:`Plan`: the eksctl argv
  lists to run (in order), CloudFormation stacks to delete first (``on_failed_stack: delete``), warnings and a
  before/after view of the ClusterConfig for ``--diff``.
* :func:`apply_plan` runs the commands with :func:`run_eksctl` (the ``eksctl`` CLI: the tool operators trust)
  and, on failure, names the CloudFormation stack that failed with its last failure events.

Stack names come from :mod:`naming` (``eksctl-<cluster>-cluster``, ``eksctl-<cluster>-nodegroup-<ng>``,
``eksctl-<cluster>-addon-iamserviceaccount-<ns>-<sa>``), which are eksctl's own conventions.
"""
from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import time

from ansible_collections.tidepool.eks.plugins.module_utils.aws import connection as aws
from ansible_collections.tidepool.eks.plugins.module_utils.common import naming

#: CloudFormation states of a stack that failed and blocks a retry until it is deleted.
FAILED_STACK_STATES = ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "CREATE_FAILED", "DELETE_FAILED",
                       "UPDATE_ROLLBACK_FAILED")
#: Of those, the ones eksctl cannot recover from by itself and ``on_failed_stack: delete`` removes.
DELETABLE_STACK_STATES = ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "CREATE_FAILED", "DELETE_FAILED")
DEFAULT_WAIT_TIMEOUT = 2400  # seconds: a cluster with node groups takes 15-20 min
STACK_PREFIX = "eksctl-{}-"


class ClusterError(Exception):
    """A failure phrased as one sentence for the user (what failed, which input or stack, what to do)."""


# ---------------------------------------------------------------------------------------------
# State
# ---------------------------------------------------------------------------------------------

def minor(version) -> tuple[int, int]:
    """``"1.34"`` -> ``(1, 34)``. Raises ClusterError for anything else."""
    try:
        major, minor_ = str(version).split(".")[:2]
        return int(major), int(minor_)
    except (ValueError, AttributeError):
        raise ClusterError(f"Kubernetes version {version!r} is not of the form 1.NN (metadata.version).") from None


def _not_found(exc) -> bool:
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
        if not _not_found(exc):
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
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            return None
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


# ---------------------------------------------------------------------------------------------
# Plan
# ---------------------------------------------------------------------------------------------

class Plan:
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
    if isinstance(doc, str):
        try:
            doc = json.loads(doc)
        except ValueError:
            return doc
    doc = copy.deepcopy(doc)
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
                    raise ClusterError(_failed_message(stack, st, cfn) + " It cannot be deleted safely "
                                       f"in state {st}; continue or roll back the update in the CloudFormation console.")
        else:
            stack, st = sorted(failed.items())[0]
            raise ClusterError(_failed_message(stack, st, cfn) + " Delete it (option on_failed_stack: delete) and "
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


def _failed_message(stack, status, cfn) -> str:
    events = failure_events(cfn, stack) if cfn is not None else []
    msg = f"CloudFormation stack {stack} is {status}"
    if events:
        msg += " (last failure events: " + "; ".join(events) + ")"
    return msg + "."


# ---------------------------------------------------------------------------------------------
# Kubeconfig
# ---------------------------------------------------------------------------------------------

def expand_path(path: str | None) -> str | None:
    """``~`` and ``$HOME``/``${VAR}`` expanded (the guide's helper wrote a literal ``$HOME``; research 22.28)."""
    if not path:
        return path
    return os.path.abspath(os.path.expanduser(os.path.expandvars(str(path))))


def kubeconfig_checker(path: str | None):
    """A function endpoint -> bool telling whether the kubeconfig at ``path`` has a cluster with that server."""
    def has(endpoint):
        if not path or not endpoint or not os.path.exists(path):
            return False
        try:
            import yaml
            with open(path, encoding="utf-8") as fh:
                data = yaml.safe_load(fh) or {}
        except (OSError, ValueError, ImportError):
            return False
        except Exception:  # noqa: BLE001 - yaml.YAMLError: an unreadable kubeconfig is rewritten by eksctl
            return False
        return any((c.get("cluster") or {}).get("server") == endpoint for c in data.get("clusters") or [])
    return has


# ---------------------------------------------------------------------------------------------
# Running eksctl
# ---------------------------------------------------------------------------------------------

class Timeout(ClusterError):
    pass


def run_eksctl(argv: list[str], env: dict, timeout: float, log=None) -> tuple[int, list[str]]:
    """Run one eksctl command; returns (exit code, output lines). Output goes line by line to ``log``
    (a callable) as it comes (progress). Kills the command's process group and raises :class:`Timeout`
    after ``timeout`` seconds."""
    try:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                                start_new_session=True, stdin=subprocess.DEVNULL)
    except OSError as exc:
        raise ClusterError(f"Cannot run {argv[0]}: {exc.strerror}; install eksctl (role tidepool.eks.tools) or "
                           "set eksctl_path.") from None
    deadline = time.monotonic() + timeout
    lines: list[str] = []
    import selectors
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except OSError:
                pass
            proc.wait(30)
            raise Timeout(f"`{' '.join(argv[1:3])}` did not finish within {int(timeout)} s (option wait_timeout); "
                          "eksctl was stopped, CloudFormation may still be working: check the stacks "
                          f"and run again. Last output: {lines[-1] if lines else '(none)'}")
        if sel.select(min(left, 5.0)):
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line.rstrip("\n"))
            if log:
                log(lines[-1])
    proc.wait()
    return proc.returncode, lines


class FileLogger:
    """Callable appending each line (with a UTC time stamp) to ``path`` and flushing it, for ``tail -f``."""

    def __init__(self, path: str):
        path = expand_path(path)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        self.fh = open(path, "a", encoding="utf-8")

    def __call__(self, line: str) -> None:
        self.fh.write(time.strftime("%Y-%m-%dT%H:%M:%SZ ", time.gmtime()) + line + "\n")
        self.fh.flush()

    def close(self) -> None:
        self.fh.close()


def eksctl_env(conn: dict, region: str, base: dict | None = None) -> dict:
    """Environment for eksctl from the module's AWS connection (the AWS SDK for Go reads these)."""
    env = dict(base if base is not None else os.environ)
    env["AWS_REGION"] = env["AWS_DEFAULT_REGION"] = conn.get("region") or region
    for opt, var in (("profile", "AWS_PROFILE"), ("endpoint_url", "AWS_ENDPOINT_URL"),
                     ("aws_access_key_id", "AWS_ACCESS_KEY_ID"), ("aws_secret_access_key", "AWS_SECRET_ACCESS_KEY"),
                     ("aws_session_token", "AWS_SESSION_TOKEN")):
        if conn.get(opt):
            env[var] = conn[opt]
    return env


def apply_plan(plan: Plan, *, env: dict, timeout: float, cfn=None, log=None) -> list[dict]:
    """Delete the failed stacks, then run the commands in order. Returns [{argv, rc, stdout_lines}].

    A failing command stops the run: ClusterError names the command, its last output line and every
    failed ``eksctl-<cluster>-*`` stack with its last failure events.
    """
    ran = []
    for stack in plan.delete_stacks:
        if log:
            log(f"deleting the failed CloudFormation stack {stack}")
        aws.call(cfn, "delete_stack", stack, StackName=stack)
        _wait_stack_gone(cfn, stack, timeout)
        ran.append({"argv": ["delete-stack", stack], "rc": 0, "stdout_lines": []})
    for argv in plan.commands:
        if log:
            log("$ " + " ".join(argv))
        rc, lines = run_eksctl(argv, env, timeout, log)
        ran.append({"argv": argv, "rc": rc, "stdout_lines": lines[-200:]})
        if rc != 0:
            msg = f"`eksctl {' '.join(argv[1:3])}` failed (exit {rc})"
            tail = [ln for ln in lines if ln.strip()][-1:] or []
            if tail:
                msg += f": {tail[0].strip()}"
            msg += "."
            if cfn is not None:
                failed = _failed_stacks(cfn, plan.name)
                for stack, status in failed:
                    msg += " " + _failed_message(stack, status, cfn)
                if failed:
                    msg += " Run again with on_failed_stack: delete to remove the failed stack before retrying."
            err = ClusterError(msg)
            err.ran = ran
            raise err
    return ran


def _failed_stacks(cfn, name):
    prefix = STACK_PREFIX.format(name)
    try:
        page = aws.call(cfn, "list_stacks", prefix + "*")
    except aws.AwsError:
        return []
    return sorted((s["StackName"], s["StackStatus"]) for s in page.get("StackSummaries", [])
                  if s["StackName"].startswith(prefix) and s["StackStatus"] in FAILED_STACK_STATES)


def _wait_stack_gone(cfn, stack, timeout, sleep=time.sleep):
    deadline = time.monotonic() + timeout
    while True:
        try:
            st = aws.call(cfn, "describe_stacks", stack, StackName=stack)["Stacks"][0]["StackStatus"]
        except aws.AwsError as exc:
            if _not_found(exc):
                return
            raise
        if st == "DELETE_COMPLETE":
            return
        if st == "DELETE_FAILED":
            raise ClusterError(_failed_message(stack, st, cfn) + " Remove what blocks it (see the events) and run again.")
        if time.monotonic() > deadline:
            raise Timeout(f"CloudFormation stack {stack} was not deleted within {int(timeout)} s (it is {st}).")
        sleep(10)
