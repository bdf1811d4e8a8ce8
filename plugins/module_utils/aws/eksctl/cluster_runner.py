# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""The runner of ``tidepool.eks.eksctl_cluster`` (one module call, the way kubernetes.core's ``k8s/runner.py``
runs ``k8s``): the ClusterConfig in, read -> plan -> (unless check mode) run eksctl -> read again.

* :func:`load_config` takes the ClusterConfig from the ``config`` option (written to a private file for
  ``eksctl -f``) or the ``config_file`` option;
* :func:`run` reads the cluster and its stacks (:mod:`.state`), plans the eksctl commands (:mod:`.planning`), runs
  them (:mod:`.runner`: the environment of the connection, the log file, the time limit) and reads the cluster again;
  an eksctl failure is :class:`EksctlFailed` with the commands and the runs for the failed result.

Plain Python (no AnsibleModule): the AWS clients come from ``aws/connection.py`` or the caller (tests).
"""
from __future__ import annotations

import os

from ansible_collections.tidepool.eks.plugins.module_utils.aws import connection as aws
from ansible_collections.tidepool.eks.plugins.module_utils.aws.eksctl import kubeconfig as eksctl_kubeconfig
from ansible_collections.tidepool.eks.plugins.module_utils.aws.eksctl import planning
from ansible_collections.tidepool.eks.plugins.module_utils.aws.eksctl import runner as eksctl_runner
from ansible_collections.tidepool.eks.plugins.module_utils.aws.eksctl.state import ClusterError, cluster_summary, read_state

#: The AWS services the runner reads (IAM is global).
SERVICES = ("eks", "cloudformation", "autoscaling", "iam")


class EksctlFailed(ClusterError):
    """An eksctl command of the plan failed; ``fields``: ``commands`` (the plan's) and ``runs`` (those that ran,
    with their exit code and output), for the failed result."""

    def __init__(self, msg: str, **fields):
        super().__init__(msg)
        self.fields = fields


def load_config(params: dict, tmpdir: str) -> tuple[dict, str]:
    """``(ClusterConfig, path to pass to eksctl -f)``: ``params["config_file"]`` read, or ``params["config"]``
    written to ``<tmpdir>/eksctl-<name>.yaml`` (mode 0600). Raises :class:`ClusterError` naming the file when it
    cannot be read or is not a mapping, or when the config is not a ClusterConfig."""
    import yaml
    if params.get("config_file"):
        try:
            with open(params["config_file"], encoding="utf-8") as fh:
                config = yaml.safe_load(fh)
        except (OSError, yaml.YAMLError) as exc:
            raise ClusterError(f"Cannot read config_file {params['config_file']}: {exc}") from None
        if not isinstance(config, dict):
            raise ClusterError(f"config_file {params['config_file']} does not hold a ClusterConfig mapping.")
        path = params["config_file"]
    else:
        config = params["config"]
        name = ((config.get("metadata") or {}).get("name")) or "cluster"
        path = os.path.join(tmpdir, f"eksctl-{name}.yaml")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            yaml.safe_dump(config, fh, sort_keys=False)
    if config.get("kind") not in (None, "ClusterConfig"):
        raise ClusterError(f"The config is a {config.get('kind')}, not an eksctl ClusterConfig.")
    return config, path


def aws_clients(conn: dict) -> dict:
    """The boto3 clients of :data:`SERVICES` for the connection ``conn`` (``aws.resolve_connection``)."""
    return {svc: aws.client(svc, conn=conn, global_service=(svc == "iam")) for svc in SERVICES}


def run(params: dict, *, check_mode: bool, tmpdir: str, clients: dict | None = None) -> dict:
    """The ``eksctl_cluster`` call for the module's ``params`` (``config`` / ``config_file``, ``state``,
    ``kubeconfig``, ``prune_nodegroups``, ``on_failed_stack``, ``eksctl_path``, ``wait_timeout`` (seconds),
    ``scope``, ``log_file`` and the AWS connection options; the region is the ClusterConfig's ``metadata.region``
    first). ``clients``: boto3 clients by service (default :func:`aws_clients`). Returns the module result
    (``changed``, ``commands``, ``deleted_stacks``, ``cluster``, ``runs`` when eksctl ran, ``warnings``, ``diff``);
    nothing runs in ``check_mode``. Raises :class:`ClusterError` (:class:`EksctlFailed` when eksctl failed),
    :class:`~.aws.connection.AwsError`."""
    config, path = load_config(params, tmpdir)
    meta = config.get("metadata") or {}
    region = meta.get("region") or params.get("region")  # eksctl uses metadata.region too
    conn = aws.resolve_connection(dict(params, region=region))
    clients = clients if clients is not None else aws_clients(conn)
    sas = [planning.sa_key(sa) for sa in planning.config_service_accounts(config)]
    state = read_state(clients, meta.get("name"), sas)
    kubeconfig = eksctl_kubeconfig.expand_path(params.get("kubeconfig"))
    plan = planning.build_plan(config, state, config_file=path, state_wanted=params["state"],
                               eksctl=params["eksctl_path"], kubeconfig=kubeconfig,
                               prune_nodegroups=params["prune_nodegroups"], on_failed_stack=params["on_failed_stack"],
                               wait_timeout=params["wait_timeout"],
                               kubeconfig_has_cluster=eksctl_kubeconfig.kubeconfig_checker(kubeconfig),
                               cfn=clients["cloudformation"], scope=params["scope"])
    result = {"changed": plan.changed, "commands": plan.commands, "deleted_stacks": plan.delete_stacks,
              "cluster": cluster_summary(state)}
    if plan.changed and not check_mode:
        if kubeconfig:
            os.makedirs(os.path.dirname(kubeconfig), exist_ok=True)
        log = eksctl_runner.FileLogger(params["log_file"]) if params.get("log_file") else None
        try:
            result["runs"] = eksctl_runner.apply_plan(plan, env=eksctl_runner.eksctl_env(conn, region),
                                                      timeout=params["wait_timeout"], cfn=clients["cloudformation"],
                                                      log=log)
        except ClusterError as exc:
            raise EksctlFailed(str(exc), commands=plan.commands, runs=getattr(exc, "ran", [])) from None
        finally:
            if log:
                log.close()
        result["cluster"] = cluster_summary(read_state(clients, meta.get("name")))
    return dict(result, warnings=plan.warnings, diff=plan.diff)
