# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""The runner of ``tidepool.eks.flux_wait`` (one module call, the way kubernetes.core's ``k8s/runner.py`` runs
``k8s``): connect, give the waiter (:mod:`.wait`) its readers and writers on the cluster, poll once.

* :func:`run` is what the module shell calls with its options: the cluster through the one client factory
  (``k8s/client.connect``), Secrets Manager (``aws/connection.client``) only with ``compare_values``;
* :class:`ClusterObjects` reads and annotates the Flux objects, lists the ExternalSecrets and reads their Secrets,
  remembering each Secret as the latest round read it (the values are compared on what that round saw, no second
  read);
* :func:`secrets_manager_reader` reads one ``SecretString`` (None when the secret does not exist);
* :func:`poll` runs one bounded :class:`.wait.Waiter` poll over them; plain Python, tested with in-memory objects.

The result is the module's (``done``, ``phase``, ``requested``, ``nudged``, ``values``, ...; ``changed`` when a
reconcile was requested or an ExternalSecret nudged). Secret values are compared in memory and never returned.
"""
from __future__ import annotations

import base64

from ansible_collections.tidepool.eks.plugins.module_utils.aws import connection as aws
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v2 import release_health, secret_values, wait
from ansible_collections.tidepool.eks.plugins.module_utils.k8s import client as k8s_client
from ansible_collections.tidepool.eks.plugins.module_utils.k8s.apply import Applier

#: Field manager of the annotations the wait sets (``requestedAt``, ``force-sync``).
FIELD_MANAGER = "tidepool.eks-reconcile"


def ref(api_version: str, kind: str, namespace: str, name: str) -> dict:
    """The object reference ``{apiVersion, kind, metadata: {name, namespace}}``."""
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": name, "namespace": namespace}}


class ClusterObjects:
    """The wait's reads and writes on one cluster. ``applier``: ``get(obj) -> dict | None`` and ``apply(obj)``
    (a :class:`~.k8s.apply.Applier`); ``list_objects(api_version, kind, namespace=None) -> list``
    (``k8s.client.list_objects``)."""

    def __init__(self, applier, list_objects, served=None):
        self.applier, self.list_objects = applier, list_objects
        self.served = served or (lambda api_version, kind: True)  # (api_version, kind) -> the kind is served
        self.last_read: dict = {}  # (namespace, name) -> the Secret (None: absent) as the latest round read it

    def get(self, api_version: str, kind: str, namespace: str, name: str) -> dict | None:
        return self.applier.get(ref(api_version, kind, namespace, name))

    def annotate(self, api_version: str, kind: str, namespace: str, name: str, key: str, value: str) -> None:
        """Server-side apply of the one annotation ``key: value`` (the field manager owns nothing else)."""
        obj = ref(api_version, kind, namespace, name)
        obj["metadata"]["annotations"] = {key: value}
        self.applier.apply(obj)

    def external_secrets(self) -> list:
        return self.list_objects(*wait.EXTERNAL_SECRET)

    def kustomizations(self) -> list:
        """Every Kustomization of the operator's namespace (``flux-system``): the config repository's."""
        return self.list_objects(*wait.KUSTOMIZATION, namespace=wait.NAMESPACE)

    def helm_releases(self) -> list | None:
        """Every HelmRelease of the cluster; None when helm-controller's API is not served."""
        if not self.served(*release_health.HELM_RELEASE):
            return None
        return self.list_objects(*release_health.HELM_RELEASE)

    def workloads(self) -> list:
        """Every Deployment and StatefulSet of the cluster."""
        return [o for kind in release_health.WORKLOAD_KINDS for o in self.list_objects(*kind)]

    def secret_exists(self, namespace: str, name: str) -> bool:
        self.last_read[(namespace, name)] = obj = self.get("v1", "Secret", namespace, name)
        return obj is not None

    def secret_data(self, namespace: str, name: str) -> dict | None:
        """The Secret's ``data`` decoded (``{key: bytes}``) as the latest round read it (read now when no round
        did); None when there is no Secret."""
        key = (namespace, name)
        obj = self.last_read[key] if key in self.last_read else self.get("v1", "Secret", namespace, name)
        if obj is None:
            return None
        return {k: base64.b64decode(v) for k, v in (obj.get("data") or {}).items()}


def secrets_manager_reader(client):
    """``remote(key) -> str | None``: the ``SecretString`` of the Secrets Manager secret ``key`` (None when it does
    not exist), on the boto3 ``client``. Raises :class:`~.aws.connection.AwsError` for any other failure."""
    def remote(key: str) -> str | None:
        try:
            return aws.call(client, "get_secret_value", key, SecretId=key).get("SecretString")
        except aws.AwsError as exc:
            if exc.code == "ResourceNotFoundException":
                return None
            raise
    return remote


def poll(objects: ClusterObjects, revision: str, *, poll_seconds: float = 15, secrets: bool = True,
         releases: bool = False, check_mode: bool = False, remote=None, **waiter_options) -> dict:
    """One bounded poll (``poll_seconds``) of :class:`.wait.Waiter` on ``objects``; with ``remote``
    (:func:`secrets_manager_reader`) the values are compared once every Secret is present. ``waiter_options``: the
    waiter's clock, sleep and interval (tests). Returns the module result; raises :class:`.wait.FluxWaitError`."""
    check_values = None
    if remote is not None:
        def check_values(items):
            return secret_values.compare(items, objects.secret_data, remote)
    waiter = wait.Waiter(objects.get, objects.annotate, objects.external_secrets, objects.secret_exists,
                         check_mode=check_mode, check_values=check_values,
                         list_kustomizations=objects.kustomizations, list_releases=objects.helm_releases,
                         list_workloads=objects.workloads, **waiter_options)
    result = waiter.poll(revision, poll=poll_seconds, secrets=secrets, releases=releases)
    return dict(result, changed=bool(result["requested"] or result["nudged"] > 0))


def run(params: dict, *, check_mode: bool) -> dict:
    """The ``flux_wait`` call for the module's ``params`` (``kubeconfig``, ``context``, ``revision``, ``poll``,
    ``secrets``, ``compare_values`` and the AWS connection options). Raises ``KubeError`` (cluster not reached),
    :class:`.wait.FluxWaitError`, :class:`~.aws.connection.AwsError`."""
    cluster = k8s_client.connect(params["kubeconfig"], params["context"])
    dyn = cluster.dynamic
    objects = ClusterObjects(Applier(dyn, field_manager=FIELD_MANAGER),
                             lambda api_version, kind, namespace=None: k8s_client.list_objects(
                                 dyn, api_version, kind, namespace=namespace),
                             served=lambda api_version, kind: k8s_client.resource(dyn, api_version, kind) is not None)
    remote = secrets_manager_reader(aws.client("secretsmanager", params)) if params["compare_values"] else None
    return poll(objects, params["revision"], poll_seconds=params["poll"], secrets=params["secrets"],
                releases=params.get("releases", False), check_mode=check_mode, remote=remote)
