# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""The Flux v2 components: what the pinned Flux release installs (its ``install.yaml``), the ``gotk-components.yaml``
of a ``flux bootstrap`` repository.

Two sources, one shape (a multi-document YAML of the Namespace ``flux-system``, the CustomResourceDefinitions, the
controllers' ServiceAccounts, RBAC, Services and Deployments):

* a real cluster: the release's ``install.yaml`` (:data:`INSTALL_URL`), fetched once at :data:`FLUX_VERSION` and
  verified against a pinned sha256 by the flux role (``roles/flux/tasks/components.yml``, the way the tools role
  fetches binaries: URL + sha256 + mirror), kept in ``~/.cache/tidepool-eks/flux2/<version>/install.yaml``;
* offline (the tests, the local stack's mirror): :func:`assemble` builds the same objects from the controllers'
  CRD files (``../shared/reference/crds/flux2/*.yaml``) and the controllers' Deployments / RBAC /
  ServiceAccounts / Services rendered here (:func:`controller_objects`) from the controllers' ``config/``
  manifests, images pinned by tag as the release does (:data:`CONTROLLERS`).

:func:`parse` reads either into objects (raises :class:`gitops.errors.FluxBootstrapError` naming the file when it
is not a Flux install). Nothing here touches the network.
"""
from __future__ import annotations

import hashlib
import os

try:
    import yaml
except ImportError:  # pragma: no cover - Ansible itself needs PyYAML
    yaml = None

from ansible_collections.tidepool.eks.plugins.module_utils.gitops.errors import FluxBootstrapError

#: The Flux release whose controller versions are pinned: the one Flux release of the collection (the components
#: installed, the local stack's controllers). The versions of :data:`CONTROLLERS` are that release's
#: (flux2 v2.9.4 ``manifests/bases/<controller>/kustomization.yaml``).
FLUX_VERSION = "v2.9.4"
NAMESPACE = "flux-system"
#: Where the release publishes its install manifests; the flux role's flux2_components_url default.
INSTALL_URL = f"https://github.com/fluxcd/flux2/releases/download/{FLUX_VERSION}/install.yaml"
#: Groups of the Flux APIs (the crd-controller ClusterRole grants them to every controller).
API_GROUPS = ("source.toolkit.fluxcd.io", "kustomize.toolkit.fluxcd.io", "helm.toolkit.fluxcd.io",
              "notification.toolkit.fluxcd.io", "image.toolkit.fluxcd.io")

#: name -> (version, extra args, extra ports). Images ``ghcr.io/fluxcd/<name>:<version>`` as the release pins them.
CONTROLLERS = {
    "source-controller": ("v1.9.4", ["--storage-path=/data",
                                     "--storage-adv-addr=source-controller.$(RUNTIME_NAMESPACE).svc.cluster.local."],
                          [("http", 9090)]),
    "kustomize-controller": ("v1.9.4", [], []),
    "helm-controller": ("v1.6.3", [], []),
    "notification-controller": ("v1.9.3", [], [("http", 9090), ("http-webhook", 9292)]),
    "image-reflector-controller": ("v1.2.4", [], []),
    "image-automation-controller": ("v1.2.4", [], []),
}
#: Controllers that apply the cluster's objects (bound to cluster-admin, as the release's cluster-reconciler).
RECONCILERS = ("kustomize-controller", "helm-controller")
#: Services of the release: name -> (controller, target port name).
SERVICES = {"source-controller": ("source-controller", "http"),
            "notification-controller": ("notification-controller", "http"),
            "webhook-receiver": ("notification-controller", "http-webhook")}


def image(name: str) -> str:
    """``ghcr.io/fluxcd/<name>:<version>`` of a controller of :data:`CONTROLLERS`."""
    return f"ghcr.io/fluxcd/{name}:{CONTROLLERS[name][0]}"


def _labels(component: str | None = None) -> dict:
    labels = {"app.kubernetes.io/instance": NAMESPACE, "app.kubernetes.io/part-of": "flux",
              "app.kubernetes.io/version": FLUX_VERSION}
    if component:
        labels["app.kubernetes.io/component"] = component
    return labels


def _meta(name: str, component: str | None = None, namespaced: bool = True) -> dict:
    meta = {"name": name, "labels": _labels(component)}
    if namespaced:
        meta["namespace"] = NAMESPACE
    return meta


def _deployment(name: str) -> dict:
    version, extra_args, extra_ports = CONTROLLERS[name]
    ports = [{"containerPort": port, "name": pname, "protocol": "TCP"} for pname, port in extra_ports]
    ports += [{"containerPort": 8080, "name": "http-prom", "protocol": "TCP"},
              {"containerPort": 9440, "name": "healthz", "protocol": "TCP"}]
    args = [] if name == "notification-controller" else [
        f"--events-addr=http://notification-controller.{NAMESPACE}.svc.cluster.local./"]
    args += ["--watch-all-namespaces=true", "--log-level=info", "--log-encoding=json",
             "--enable-leader-election"] + extra_args
    mounts = [{"name": "temp", "mountPath": "/tmp"}]
    volumes = [{"name": "temp", "emptyDir": {}}]
    if name == "source-controller":
        mounts.insert(0, {"name": "data", "mountPath": "/data"})
        volumes.insert(0, {"name": "data", "emptyDir": {}})
    ready = {"httpGet": {"path": "/", "port": "http"}} if name == "source-controller" else \
        {"httpGet": {"path": "/readyz", "port": "healthz"}}
    container = {
        "name": "manager", "image": image(name), "imagePullPolicy": "IfNotPresent", "args": args,
        "env": [{"name": "RUNTIME_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}],
        "ports": ports,
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "healthz"}},
        "readinessProbe": ready,
        "resources": {"limits": {"cpu": "1000m", "memory": "1Gi"}, "requests": {"cpu": "100m", "memory": "64Mi"}},
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "runAsNonRoot": True,
                            "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}},
        "volumeMounts": mounts}
    pod = {"containers": [container], "nodeSelector": {"kubernetes.io/os": "linux"},
           "priorityClassName": "system-cluster-critical", "securityContext": {"fsGroup": 1337},
           "serviceAccountName": name, "terminationGracePeriodSeconds": 60, "volumes": volumes}
    spec = {"replicas": 1, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name},
                                      "annotations": {"prometheus.io/port": "8080", "prometheus.io/scrape": "true"}},
                         "spec": pod}}
    if name == "source-controller":
        spec["strategy"] = {"type": "Recreate"}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {**_meta(name, name), "labels": {**_labels(name), "control-plane": "controller"}},
            "spec": spec}


def controller_objects() -> list[dict]:
    """The release's objects other than the CRDs, in apply order: ServiceAccounts, the ``crd-controller``
    ClusterRole and its binding, the ``cluster-reconciler`` binding (cluster-admin for :data:`RECONCILERS`),
    Services, Deployments (one per :data:`CONTROLLERS`)."""
    rbac = "rbac.authorization.k8s.io/v1"
    out = [{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(name, name)} for name in CONTROLLERS]
    rules = [{"apiGroups": list(API_GROUPS), "resources": ["*"], "verbs": ["*"]},
             {"apiGroups": [""], "resources": ["namespaces", "secrets", "configmaps", "serviceaccounts"],
              "verbs": ["get", "list", "watch"]},
             {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]},
             {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch", "create", "update",
                                                                        "patch", "delete"]},
             {"apiGroups": [""], "resources": ["configmaps/status"], "verbs": ["get", "update", "patch"]},
             {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["*"]}]
    crd_controller = f"crd-controller-{NAMESPACE}"
    out.append({"apiVersion": rbac, "kind": "ClusterRole", "metadata": _meta(crd_controller, namespaced=False),
                "rules": rules})
    subjects = [{"kind": "ServiceAccount", "name": name, "namespace": NAMESPACE} for name in CONTROLLERS]
    out.append({"apiVersion": rbac, "kind": "ClusterRoleBinding", "metadata": _meta(crd_controller, namespaced=False),
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": crd_controller},
                "subjects": subjects})
    out.append({"apiVersion": rbac, "kind": "ClusterRoleBinding",
                "metadata": _meta(f"cluster-reconciler-{NAMESPACE}", namespaced=False),
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
                "subjects": [s for s in subjects if s["name"] in RECONCILERS]})
    for name, (controller, port) in SERVICES.items():
        out.append({"apiVersion": "v1", "kind": "Service", "metadata": _meta(name, controller),
                    "spec": {"type": "ClusterIP", "selector": {"app": controller},
                             "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": port}]}})
    out += [_deployment(name) for name in CONTROLLERS]
    return out


def namespace() -> dict:
    """The Namespace ``flux-system`` as the release writes it."""
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": NAMESPACE, "labels": {**_labels(), "pod-security.kubernetes.io/warn": "restricted",
                                                       "pod-security.kubernetes.io/warn-version": "latest"}}}


def _load_docs(text: str, source: str) -> list[dict]:
    try:
        docs = [d for d in yaml.safe_load_all(text) if d]
    except yaml.YAMLError as exc:
        raise FluxBootstrapError(f"{source} is not YAML: {exc}") from None
    if not all(isinstance(d, dict) and d.get("kind") and d.get("apiVersion") for d in docs):
        raise FluxBootstrapError(f"{source} holds a document that is not a Kubernetes object.")
    return docs


def assemble(crd_files) -> list[dict]:
    """The components offline: Namespace, the CRDs of ``crd_files`` (paths of YAML files, each one or more
    CustomResourceDefinitions; sorted by name), then :func:`controller_objects`. The CRDs get the release's labels.
    Raises FluxBootstrapError naming a file that holds anything but CRDs."""
    crds = []
    for path in crd_files:
        with open(path, encoding="utf-8") as handle:
            docs = _load_docs(handle.read(), str(path))
        for doc in docs:
            if doc["kind"] != "CustomResourceDefinition":
                raise FluxBootstrapError(f"{path}: {doc['kind']} is not a CustomResourceDefinition.")
            doc["metadata"].pop("creationTimestamp", None)
            doc.pop("status", None)
            doc["metadata"].setdefault("labels", {}).update(_labels())
            crds.append(doc)
    crds.sort(key=lambda c: c["metadata"]["name"])
    return [namespace()] + crds + controller_objects()


def crd_files(directory: str) -> list[str]:
    """The ``*.yaml`` files of ``directory`` (sorted), e.g. ``../shared/reference/crds/flux2``."""
    return sorted(os.path.join(directory, f) for f in os.listdir(directory) if f.endswith((".yaml", ".yml")))


def dump(objects: list) -> str:
    """Multi-document YAML (``---`` between objects), the layout of ``install.yaml`` / ``gotk-components.yaml``."""
    header = f"---\n# Flux {FLUX_VERSION} components (tidepool.eks; the release's install.yaml or its offline assembly)\n"
    return header + "---\n".join(yaml.safe_dump(o, default_flow_style=False, sort_keys=True) for o in objects)


def parse(text: str, source: str = "the Flux components") -> list[dict]:
    """The objects of a components file, in its order. Raises FluxBootstrapError naming ``source`` unless it holds
    the Namespace ``flux-system`` and at least one Flux CustomResourceDefinition and Deployment."""
    docs = _load_docs(text, source)
    kinds = {(d["kind"], d["metadata"].get("name")) for d in docs}
    has_crd = any(d["kind"] == "CustomResourceDefinition" and (d.get("spec") or {}).get("group") in API_GROUPS
                  for d in docs)
    if ("Namespace", NAMESPACE) not in kinds or not has_crd or not any(kind == "Deployment" for kind, _name in kinds):
        raise FluxBootstrapError(f"{source} is not a Flux install (it needs the Namespace {NAMESPACE}, the Flux "
                                 "CustomResourceDefinitions and the controllers' Deployments).")
    return docs


def read(path: str, sha256: str | None = None) -> str:
    """The text of the components file ``path`` (the cached ``install.yaml`` or an assembled mirror), checked
    against ``sha256`` when given. Raises FluxBootstrapError naming the path on a missing file or mismatch."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise FluxBootstrapError(f"components_path={path!r} cannot be read ({exc.strerror}); the flux role fetches "
                                 "it (flux2_components_url).") from None
    if sha256 and hashlib.sha256(data).hexdigest() != sha256.lower():
        raise FluxBootstrapError(f"components_path={path!r} does not match its pinned sha256 {sha256}.")
    return data.decode("utf-8")
