# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Running eksctl: one command with a time limit and live output, the environment it gets, and the plan.

:func:`apply_plan` deletes the failed stacks the plan names, then runs its commands in order with
:func:`run_eksctl` (the ``eksctl`` CLI: the tool operators trust) and, on failure, names the CloudFormation
stack that failed with its last failure events. :class:`FileLogger` writes the output to a file for
``tail -f``.
"""
from __future__ import annotations

import os
import selectors
import signal
import subprocess
import time

from ansible_collections.tidepool.eks.plugins.module_utils.aws import connection as aws
from ansible_collections.tidepool.eks.plugins.module_utils.aws.eksctl.kubeconfig import expand_path
from ansible_collections.tidepool.eks.plugins.module_utils.aws.eksctl.planning import Plan
from ansible_collections.tidepool.eks.plugins.module_utils.aws.eksctl.state import (
    ClusterError, failed_message, failed_stacks, not_found)


class Timeout(ClusterError):
    """An eksctl command or a stack deletion did not finish within the time limit (option wait_timeout)."""


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
                failed = failed_stacks(cfn, plan.name)
                for stack, status in failed:
                    msg += " " + failed_message(stack, status, cfn)
                if failed:
                    msg += " Run again with on_failed_stack: delete to remove the failed stack before retrying."
            err = ClusterError(msg)
            err.ran = ran
            raise err
    return ran


def _wait_stack_gone(cfn, stack, timeout, sleep=time.sleep):
    deadline = time.monotonic() + timeout
    while True:
        try:
            st = aws.call(cfn, "describe_stacks", stack, StackName=stack)["Stacks"][0]["StackStatus"]
        except aws.AwsError as exc:
            if not_found(exc):
                return
            raise
        if st == "DELETE_COMPLETE":
            return
        if st == "DELETE_FAILED":
            raise ClusterError(failed_message(stack, st, cfn) + " Remove what blocks it (see the events) and run again.")
        if time.monotonic() > deadline:
            raise Timeout(f"CloudFormation stack {stack} was not deleted within {int(timeout)} s (it is {st}).")
        sleep(10)
