# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""The one Kubernetes client factory: kubeconfig and context resolution, loading, reachability, one error.

Plain Python on the ``kubernetes`` client (no AnsibleModule). :func:`connect` is the one way every module that
talks to a cluster gets there (``preflight``, ``apply_plan``, ``manifest_validate``, ``flux_bootstrap``,
``flux_migrate``, ``flux_wait``, ``irsa_roles``):

* :func:`.options.resolve` picks the kubeconfig and context: the task's options first, then the environment
  variables ``kubernetes.core`` reads (``K8S_AUTH_KUBECONFIG``, ``K8S_AUTH_CONTEXT``), then ``KUBECONFIG``,
  then the client's default ``~/.kube/config`` and the kubeconfig's current context;
* :func:`connect` loads it (:func:`api_client`), probes the API server (GET /version) and returns a
  :class:`Connection`: the ``ApiClient``, the server URL and version, and the dynamic client (discovery on first
  use);
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


class Connection:
    """A reached API server (:func:`connect`): ``api`` (``kubernetes.client.ApiClient``), ``server`` (its URL),
    ``version`` (its ``gitVersion``) and :attr:`dynamic`."""

    def __init__(self, api, server: str, version: str):
        self.api, self.server, self.version = api, server, version
        self._dynamic = None

    @property
    def dynamic(self):
        """The ``kubernetes.dynamic.DynamicClient`` on :attr:`api` (made on first use: discovery, cached by the
        client). Raises :class:`KubeError` naming the server when discovery fails."""
        if self._dynamic is None:
            try:
                self._dynamic = DynamicClient(self.api)
            except Exception as exc:  # noqa: BLE001 - ApiException, urllib3 errors: one sentence
                raise KubeError(f"Kubernetes API server {self.server}: API discovery failed "
                                f"({type(exc).__name__}: {_short(exc)}).") from None
        return self._dynamic


def connect(kubeconfig: str | None = None, context: str | None = None,
            timeout: float = DEFAULT_TIMEOUT) -> Connection:
    """The one way to a cluster: load ``kubeconfig`` and ``context`` (resolved by :func:`resolve`; ``~``
    expanded) and probe the API server (GET /version, ``timeout`` seconds). Returns a :class:`Connection`; raises
    :class:`KubeError` naming the kubeconfig, its context and the server URL, and what to check."""
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
    return Connection(api, server, getattr(info, "git_version", ""))


def namespace_uid(api, name: str = "kube-system", timeout: float = DEFAULT_TIMEOUT) -> str:
    """``metadata.uid`` of the namespace ``name`` (GET, on the ``api`` of a :class:`Connection`); it names the
    cluster (a rebuilt cluster gets a new one). Raises :class:`KubeError` naming the server."""
    try:
        return k8s_client.CoreV1Api(api).read_namespace(name, _request_timeout=timeout).metadata.uid
    except k8s_client.ApiException as exc:
        raise KubeError(f"Kubernetes API server {api.configuration.host}: reading namespace {name} answered HTTP "
                        f"{exc.status} {exc.reason}; the kubeconfig's user needs get on namespaces.") from None
    except urllib3.exceptions.HTTPError as exc:
        raise KubeError(f"Kubernetes API server {api.configuration.host} is unreachable ({_short(exc)}).") from None


def _short(reason) -> str:
    text = str(reason)
    # urllib3 wraps the useful part: "<urllib3.connection.HTTPSConnection object at 0x..>: Failed to establish a
    # new connection: [Errno 111] Connection refused" -> the part after the object.
    if ">: " in text:
        text = text.split(">: ", 1)[1]
    return text.strip().rstrip(".")


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
