# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Reachability checks run at the start of a step, before it changes anything (plain Python).

Each check raises :class:`PreflightError` (Kubernetes: the client factory's ``KubeError``; both are
TidepoolErrors) with one sentence naming the server (URL; kubeconfig and context for
Kubernetes), what failed, and what to check. The local stack's servers get a hint to ``scripts/local-stack``.
"""
from __future__ import annotations

from ansible_collections.tidepool.eks.plugins.module_utils.aws import connection as aws
from ansible_collections.tidepool.eks.plugins.module_utils.common.errors import TidepoolError

#: Seconds to wait for one answer; a reachable server answers well within it.
DEFAULT_TIMEOUT = 10


class PreflightError(TidepoolError):
    """A server the step needs cannot be reached or refused the credentials."""


def _local_hint(url: str) -> str:
    return (" For the local stack: `scripts/local-stack status`, then `scripts/local-stack up`."
            if "127.0.0.1" in (url or "") or "localhost" in (url or "") else "")


def check_kubernetes(kubeconfig: str | None, context: str | None, timeout: float = DEFAULT_TIMEOUT) -> dict:
    """``{server, version}`` of the API server of ``kubeconfig`` / ``context`` (resolved by the one client factory,
    ``k8s/client.py``: the options, then ``K8S_AUTH_KUBECONFIG`` / ``KUBECONFIG`` / ``K8S_AUTH_CONTEXT``).
    Raises :class:`~.k8s.client.KubeError` naming the server, the kubeconfig and its context."""
    # imported here: the kubernetes client takes ~0.3 s to import, and most steps check AWS only
    from ansible_collections.tidepool.eks.plugins.module_utils.k8s import client as kube

    _api, server, version = kube.check_reachable(kubeconfig, context, timeout)
    return {"server": server, "version": version}


def check_aws(params: dict, timeout: float = DEFAULT_TIMEOUT) -> dict:
    """``{credentials, endpoint, region, account, arn}``: whether any AWS credentials are configured (profile,
    keys, environment, ``~/.aws``, instance role; found without a network call), and when there are, the
    answer of STS GetCallerIdentity (one call, no retries). ``{"credentials": False}`` when there are none.
    Raises :class:`PreflightError`. ``params``: the shared AWS connection options (``aws.aws_argument_spec``)."""
    try:
        conn = dict(aws.resolve_connection(params), retries=0)
        sess = aws.session(conn)
    except aws.AwsError as exc:
        raise PreflightError(str(exc)) from None
    if sess.get_credentials() is None:
        return {"credentials": False}
    kwargs = {"region_name": conn.get("region") or sess.region_name or "us-east-1",
              "config": aws.botocore_config(conn, connect_timeout=timeout, read_timeout=timeout)}
    if conn.get("endpoint_url"):
        kwargs["endpoint_url"] = conn["endpoint_url"]
    cli = sess.client("sts", **kwargs)
    endpoint = cli.meta.endpoint_url
    region = cli.meta.region_name
    try:
        ident = cli.get_caller_identity()
    except Exception as exc:  # botocore raises many connection/credential types; describe_error sorts them
        err = aws.describe_error(exc, "sts.GetCallerIdentity")
        if err.code in ("EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError", "ConnectionClosedError"):
            raise PreflightError(f"AWS endpoint {endpoint} (region {region}) is unreachable: {err.code}. Check "
                                 "endpoint_url / AWS_ENDPOINT_URL, the network and any proxy."
                                 + _local_hint(endpoint)) from None
        raise PreflightError(f"AWS endpoint {endpoint} (region {region}): {err}") from None
    return {"credentials": True, "endpoint": endpoint, "region": region, "account": ident.get("Account"),
            "arn": ident.get("Arn")}


def no_credentials_message(host: str | None, region: str | None, required: bool) -> str:
    """The message for a host with no AWS credentials at all: an error when ``required`` (option
    ``aws_credentials_required``, set by the AWX job templates), else the warning that the steps calling AWS end
    here for ``host`` (so ``site.yml -l test1`` renders the config repository offline)."""
    who = f" for {host}" if host else ""
    where = f" (region {region})" if region else ""
    how = "configure a profile (aws_profile) or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY"
    if required:
        return f"aws_credentials_required: no AWS credentials are configured{who}{where}; {how}."
    return (f"No AWS credentials are configured{who}{where}: the steps that call AWS end here. To run them, {how}; "
            "set aws_credentials_required: true to make this an error.")
