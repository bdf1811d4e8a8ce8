# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""The one Kubernetes client factory: kubeconfig and context resolution, loading, reachability, one error.

Plain Python on the ``kubernetes`` client (no AnsibleModule), used by every module that talks to a cluster
(``preflight``, ``apply_plan``, ``manifest_validate``, ``flux_bootstrap``):

* :func:`.options.resolve` picks the kubeconfig and context: the task's options first, then the environment
  variables ``kubernetes.core`` reads (``K8S_AUTH_KUBECONFIG``, ``K8S_AUTH_CONTEXT``), then ``KUBECONFIG``,
  then the client's default ``~/.kube/config`` and the kubeconfig's current context;
* :func:`api_client` / :func:`check_reachable` load it and probe the API server (GET /version);
* :func:`connect` loads it and opens a dynamic client (discovery) in one step;
* :class:`KubeError` is the one error of the Kubernetes code: one sentence naming the kubeconfig, its context
  and the server URL (when known), and what to check; never credentials.
"""
from __future__ import annotations

import os

from ansible_collections.tidepool.eks.plugins.module_utils.common.errors import TidepoolError
from ansible_collections.tidepool.eks.plugins.module_utils.k8s.options import resolve

try:
    import urllib3
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config
    from kubernetes.config.config_exception import ConfigException
    from kubernetes.dynamic import DynamicClient
    # NotFoundError and ResourceNotFoundError are for k8s/apply.py: every kubernetes import stays in this file
    from kubernetes.dynamic.exceptions import (  # pylint: disable=unused-import
        DynamicApiError, NotFoundError, ResourceNotFoundError)
    HAS_KUBERNETES = True
    KUBERNETES_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - exercised only without the kubernetes client
    HAS_KUBERNETES = False
    KUBERNETES_IMPORT_ERROR = exc
    ConfigException = Exception  # type: ignore

    class DynamicApiError(Exception):  # type: ignore[no-redef]
        """Stand-in when the kubernetes client is missing (the module runner reports it)."""

    class NotFoundError(DynamicApiError):  # type: ignore[no-redef]
        """Stand-in."""

    class ResourceNotFoundError(Exception):  # type: ignore[no-redef]
        """Stand-in."""

#: Seconds to wait for the API server to answer the reachability probe (GET /version).
DEFAULT_TIMEOUT = 10


class KubeError(TidepoolError):
    """The kubeconfig cannot be loaded, the cluster cannot be reached or it refused a request; the message
    names the kubeconfig / server / object and says what to check."""


def describe_target(kubeconfig: str | None, context: str | None) -> str:
    """``kubeconfig <path>, context <name>`` as used in messages (of the resolved kubeconfig and context)."""
    path = os.path.expanduser(kubeconfig) if kubeconfig else (resolve(None, None)[0] or "~/.kube/config")
    context = resolve(None, context)[1]
    return f"kubeconfig {path}, context {context or '(current)'}"


def api_client(kubeconfig: str | None, context: str | None = None):
    """A ``kubernetes.client.ApiClient`` for ``kubeconfig`` (path, ``~`` expanded) and ``context``, resolved by
    :func:`resolve`. Raises :class:`KubeError` when the file or the context cannot be loaded."""
    if not HAS_KUBERNETES:
        raise KubeError(f"the Python kubernetes client is required: {KUBERNETES_IMPORT_ERROR}")
    path = os.path.expanduser(kubeconfig) if kubeconfig else None
    if path and not os.path.exists(path):
        raise KubeError(f"kubeconfig: {path} does not exist; set kubeconfig to the file of the cluster "
                        "(for the local stack: run `scripts/local-stack up`, which writes it)")
    path, ctx = resolve(path, context)
    try:
        return k8s_config.new_client_from_config(config_file=path, context=ctx)
    except (ConfigException, OSError, ValueError, TypeError) as exc:
        raise KubeError(f"{describe_target(kubeconfig, context)}: cannot be loaded: {exc}") from None


def check_reachable(kubeconfig: str | None, context: str | None = None, timeout: float = DEFAULT_TIMEOUT):
    """Probe the API server (GET /version). Returns ``(api_client, server_url, git_version)``; raises
    :class:`KubeError` naming the server, the kubeconfig and its context, and what to check."""
    api = api_client(kubeconfig, context)
    server = api.configuration.host
    where = f"Kubernetes API server {server} ({describe_target(kubeconfig, context)})"
    try:
        info = k8s_client.VersionApi(api).get_code(_request_timeout=timeout)
    except urllib3.exceptions.MaxRetryError as exc:
        reason = getattr(exc, "reason", None) or exc
        raise KubeError(f"{where} is unreachable ({_short(reason)}). Check that the cluster is running and that the "
                        "kubeconfig points at it (local stack: `scripts/local-stack status`, then "
                        "`scripts/local-stack up`).") from None
    except urllib3.exceptions.HTTPError as exc:
        raise KubeError(f"{where} is unreachable ({_short(exc)}). Check the network path to it.") from None
    except k8s_client.ApiException as exc:
        if exc.status in (401, 403):
            raise KubeError(f"{where} refused the kubeconfig's credentials (HTTP {exc.status}). Check the user of "
                            "that context (for EKS: `aws eks update-kubeconfig`, and the IAM identity's access).") from None
        raise KubeError(f"{where} answered HTTP {exc.status} {exc.reason}.") from None
    return api, server, getattr(info, "git_version", "")


def namespace_uid(api, name: str = "kube-system", timeout: float = DEFAULT_TIMEOUT) -> str:
    """``metadata.uid`` of the namespace ``name`` (GET, on the ``api`` of :func:`check_reachable`); it names the
    cluster (a rebuilt cluster gets a new one). Raises :class:`KubeError` naming the server."""
    try:
        return k8s_client.CoreV1Api(api).read_namespace(name, _request_timeout=timeout).metadata.uid
    except k8s_client.ApiException as exc:
        raise KubeError(f"Kubernetes API server {api.configuration.host}: reading namespace {name} answered HTTP "
                        f"{exc.status} {exc.reason}; the kubeconfig's user needs get on namespaces.") from None
    except urllib3.exceptions.HTTPError as exc:
        raise KubeError(f"Kubernetes API server {api.configuration.host} is unreachable ({_short(exc)}).") from None


def connect(kubeconfig: str | None = None, context: str | None = None):
    """A ``DynamicClient`` for ``kubeconfig`` and ``context`` (resolved by :func:`resolve`), its discovery
    done, without a separate probe. Raises :class:`KubeError` naming the kubeconfig when it cannot be loaded,
    and the server URL when the server cannot be reached."""
    kubeconfig, context = resolve(kubeconfig, context)
    try:
        api = k8s_config.new_client_from_config(config_file=kubeconfig, context=context)
    except Exception as exc:  # noqa: BLE001 - ConfigException, OSError, YAML errors
        raise KubeError(f"Cannot load kubeconfig {kubeconfig or '(default)'}"
                        f"{' context ' + context if context else ''}: {exc}") from None
    try:
        return DynamicClient(api)
    except Exception as exc:  # noqa: BLE001 - urllib3 connection errors
        raise KubeError(f"Cannot reach the Kubernetes API server {api.configuration.host} "
                        f"(kubeconfig {kubeconfig or '(default)'}): {type(exc).__name__}: {exc}") from None


def _short(reason) -> str:
    text = str(reason)
    # urllib3 wraps the useful part: "<urllib3.connection.HTTPSConnection object at 0x..>: Failed to establish a
    # new connection: [Errno 111] Connection refused" -> the part after the object.
    if ">: " in text:
        text = text.split(">: ", 1)[1]
    return text.strip().rstrip(".")


def dynamic_client(api):
    """A ``kubernetes.dynamic.DynamicClient`` on ``api`` (discovery is cached by the client)."""
    return DynamicClient(api)


def resource(dyn, api_version: str, kind: str):
    """The dynamic resource of ``apiVersion``/``kind``, or None when the server does not serve it (CRD not
    installed yet)."""
    try:
        return dyn.resources.get(api_version=api_version, kind=kind)
    except ResourceNotFoundError:
        return None


def list_objects(dyn, api_version: str, kind: str, *, label_selector: str | None = None,
                 namespace: str | None = None) -> list:
    """Every object of a kind across namespaces (or in ``namespace``; one LIST), as plain dicts; [] when the kind is
    not served (also when its CRD was deleted after the client's discovery cache was written: the LIST answers 404)."""
    res = resource(dyn, api_version, kind)
    if res is None:
        return []
    try:
        items = res.get(label_selector=label_selector, namespace=namespace).to_dict().get("items") or []
    except NotFoundError:
        return []
    except DynamicApiError as exc:
        raise KubeError(f"listing {kind} ({api_version}) failed: HTTP {exc.status} {exc.reason}") from None
    for item in items:  # items of a List carry no apiVersion/kind of their own
        item.setdefault("apiVersion", api_version)
        item.setdefault("kind", kind)
    return items
