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


class WrongTargetError(PreflightError):
    """The credentials or the kubeconfig reach another AWS account or cluster than the inventory's."""


def _local_hint(url: str) -> str:
    return (" For the local stack: `scripts/local-stack status`, then `scripts/local-stack up`."
            if "127.0.0.1" in (url or "") or "localhost" in (url or "") else "")


def check_kubernetes(kubeconfig: str | None, context: str | None, timeout: float = DEFAULT_TIMEOUT) -> dict:
    """``{server, version}`` of the API server of ``kubeconfig`` / ``context`` (resolved by the one client factory,
    ``k8s/client.py``: the options, then ``K8S_AUTH_KUBECONFIG`` / ``KUBECONFIG`` / ``K8S_AUTH_CONTEXT``).
    Raises :class:`~.k8s.client.KubeError` naming the server, the kubeconfig and its context."""
    # imported here: the kubernetes client takes ~0.3 s to import, and most steps check AWS only
    from ansible_collections.tidepool.eks.plugins.module_utils.k8s import client as kube

    cluster = kube.connect(kubeconfig, context, timeout)
    return {"server": cluster.server, "version": cluster.version}


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


def check_account(answer: dict, expected: str | None, host: str | None = None) -> None:
    """Raise :class:`WrongTargetError` when the account of ``answer`` (:func:`check_aws`'s) is not ``expected``
    (the inventory's ``aws.accountNumber``; no check when it is empty or there are no credentials)."""
    if not expected or not answer.get("credentials"):
        return
    if str(answer.get("account")) != str(expected).strip():
        who = f" of {host}" if host else ""
        raise WrongTargetError(f"Wrong AWS account: the credentials are of account {answer.get('account')} "
                               f"({answer.get('arn')}), but the inventory{who} names aws.accountNumber {expected}. "
                               "Use the profile or keys of that account (aws_profile, AWS_PROFILE), or fix "
                               "aws.accountNumber; nothing was changed.")


def _url(url: str | None) -> str:
    return (url or "").strip().rstrip("/").lower()


def eks_cluster(params: dict, name: str, timeout: float = DEFAULT_TIMEOUT) -> dict:
    """``{endpoint, ca_data}`` of the EKS cluster ``name`` (EKS DescribeCluster, in the region of ``params``).
    Raises :class:`PreflightError` (no such cluster, no access)."""
    conn = aws.resolve_connection(params)
    try:
        cli = aws.client("eks", conn=conn)
        found = cli.describe_cluster(name=name)["cluster"]
    except Exception as exc:  # botocore raises many types; describe_error sorts them
        err = aws.describe_error(exc, "eks.DescribeCluster", name)
        if err.code == "ResourceNotFoundException":
            raise PreflightError(f"EKS cluster {name} does not exist in region {conn.get('region')}: the kubeconfig "
                                 "cannot be checked against it. Run the cluster step first, or check "
                                 "cluster.metadata and the AWS account.") from None
        raise PreflightError(str(err)) from None
    return {"endpoint": found.get("endpoint"), "ca_data": (found.get("certificateAuthority") or {}).get("data")}


def check_target(target: dict, *, provider: str, cluster: str, api_server: str | None = None,
                 eks: dict | None = None) -> None:
    """Raise :class:`WrongTargetError` when the kubeconfig's ``target`` (``k8s.context.resolve``) is not the
    inventory's cluster: for ``eksctl`` (and ``existing`` with ``eks``), the server URL and CA data must equal
    the EKS cluster's ``eks`` (:func:`eks_cluster`); else, when ``api_server`` (``kubernetes_api_server``) is
    given, the server URL must equal it. Compares the kubeconfig only (no request to the server)."""
    where = f"kubeconfig {target['kubeconfig']}, context {target['context']}"
    if eks is not None:
        if _url(target.get("server")) != _url(eks.get("endpoint")):
            raise WrongTargetError(f"Wrong cluster: {where} points at the API server {target.get('server')}, but the "
                                   f"EKS cluster {cluster} (DescribeCluster) is {eks.get('endpoint')}. Set "
                                   "kubeconfig / kubeconfig_context to the cluster of the inventory; nothing was "
                                   "changed.")
        have, want = "".join((target.get("ca_data") or "").split()), "".join((eks.get("ca_data") or "").split())
        if want and have != want:
            raise WrongTargetError(f"Wrong cluster: {where} trusts another certificate authority than the EKS "
                                   f"cluster {cluster} at {eks.get('endpoint')} (DescribeCluster "
                                   "certificateAuthority). Rewrite the kubeconfig (`aws eks update-kubeconfig`); "
                                   "nothing was changed.")
    elif api_server and _url(target.get("server")) != _url(api_server):
        raise WrongTargetError(f"Wrong cluster: {where} points at the API server {target.get('server')}, but the "
                               f"inventory names kubernetes_api_server {api_server} for {cluster}. Set kubeconfig / "
                               "kubeconfig_context to that cluster, or fix kubernetes_api_server; nothing was "
                               "changed.")
    elif provider == "eksctl":
        raise PreflightError(f"{cluster}: cluster_provider eksctl needs the EKS cluster's endpoint to check the "
                             "kubeconfig against")


def check_cluster(params: dict, timeout: float = DEFAULT_TIMEOUT) -> dict:
    """``{kubeconfig, context, server, version, uid, reachable}`` of the inventory's cluster, checked before any
    change. ``params`` (the ``preflight`` module's): ``kubeconfig``, ``context``, ``cluster``,
    ``cluster_provider``, ``eks``, ``kubernetes_api_server``, ``cluster_uid``, ``unreachable_ok`` and the AWS
    connection options (``region``: the cluster's). Steps: the context (``k8s.context.resolve``), the kubeconfig's
    server against the EKS cluster (DescribeCluster) or ``kubernetes_api_server`` (:func:`check_target`), a
    request to the server (version, ``kube-system`` UID), the UID against ``cluster_uid``.
    Raises :class:`WrongTargetError` naming both sides; with ``unreachable_ok`` any other failure returns
    ``{reachable: False, reason}``; else :class:`PreflightError`, ``KubeError`` or ``ContextError``."""
    # imported here: the kubernetes client takes ~0.3 s to import, and most steps check AWS only
    from ansible_collections.tidepool.eks.plugins.module_utils.k8s import client as kube
    from ansible_collections.tidepool.eks.plugins.module_utils.k8s import context as kube_context

    provider, name = params.get("cluster_provider") or "existing", params["cluster"]
    try:
        target = kube_context.resolve(params.get("kubeconfig"), provider, name, params.get("region") or "",
                                      params.get("context"))
        eks = eks_cluster(params, name, timeout) if provider == "eksctl" or params.get("eks") else None
        check_target(target, provider=provider, cluster=name, api_server=params.get("kubernetes_api_server"),
                     eks=eks)
        reached = kube.connect(target["kubeconfig"], target["context"], timeout)
        server, version = reached.server, reached.version
        uid = kube.namespace_uid(reached.api, "kube-system", timeout)
    except WrongTargetError:
        raise
    except (kube_context.ContextError, kube.KubeError, PreflightError) as exc:
        if not params.get("unreachable_ok"):
            raise
        return {"reachable": False, "reason": str(exc)}
    recorded = params.get("cluster_uid")
    if recorded and recorded != uid:
        raise WrongTargetError(f"Wrong cluster: the API server {server} (kubeconfig {target['kubeconfig']}, context "
                               f"{target['context']}) has the kube-system namespace UID {uid}, but the config "
                               f"repository recorded {recorded} for {name} on its first run. Set kubeconfig / "
                               "kubeconfig_context to that cluster (or, if the cluster was rebuilt, remove the "
                               "recorded UID file); nothing was changed.")
    return {"reachable": True, "kubeconfig": target["kubeconfig"], "context": target["context"], "server": server,
            "version": version, "uid": uid}


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
