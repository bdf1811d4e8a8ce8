# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Flux v2 multi-tenancy: who applies which directory of ``clusters/<cluster>/flux``, as whom.

The Kustomization ``flux-system`` (cluster-admin, as ``kustomize-controller``: :mod:`.lockdown`) applies only the
bootstrap objects: ``flux-system/`` (Flux itself) and ``tenants/`` (:data:`TENANTS_DIR`), listed by the
``kustomization.yaml`` at the top of the Flux path (:func:`root_kustomization`). ``tenants/`` holds, all in
``flux-system`` unless said otherwise:

* per environment ``<env>`` (``tenants/<env>/``): its Namespace (moved here from ``environments/<env>/``: a
  namespace-bound account cannot apply a cluster-scoped object), the ServiceAccount ``environment-<env>``, a
  RoleBinding in ``<env>`` to the ClusterRole :data:`ENVIRONMENT_ROLE` (the kinds an environment's files hold, in its
  own namespace only), the Kustomization ``environment-<env>`` applying ``environments/<env>`` as that account, and
  the ServiceAccount ``<env>/helm-release`` its HelmRelease installs the chart as (helm-controller's
  ``--default-service-account``), bound by a RoleBinding in ``<env>`` to ``cluster-admin``: every namespaced kind
  of the chart (gloo's, cert-manager's included), in ``<env>`` only (what ``flux create tenant`` binds);
* the shared services (``tenants/shared/``): their Namespaces (moved here from ``shared/<pkg>/``), the
  ServiceAccount ``shared-services``, bound to ``cluster-admin`` by a ClusterRoleBinding (the shared services are
  CustomResourceDefinitions, ClusterRoles and their bindings, ClusterIssuers, Namespaces and objects in
  ``kube-system``: binding a ClusterRole needs its rights or ``bind``, which amount to cluster-admin), the
  Kustomization ``shared-services`` applying ``shared/`` as it, and in each namespace of a shared HelmRelease the
  ServiceAccount ``helm-release`` bound to ``cluster-admin`` by the ClusterRoleBinding ``helm-release-<ns>`` (the
  charts install CRDs, ClusterRoles, webhooks);
* per namespace with ExternalSecrets ``<ns>`` (``tenants/external-secrets/``): the Kustomization
  ``external-secrets-<ns>`` applying ``external-secrets/<ns>`` as the environment's account (an environment
  namespace) or ``shared-services`` (a package's namespace), after the Kustomization that applies its SecretStore;
* the ClusterRole :data:`ENVIRONMENT_ROLE` itself.

An environment's own path (``environments/<env>``, what image automation and people edit) can hold none of
this: its account may not create RoleBindings to anything it does not hold, nor Kustomizations, nor anything
outside its namespace. No ``targetNamespace`` is set, so an object of an environment's directory that names another
namespace is refused (Ready False, "forbidden"), not silently moved. Environments depend on the shared services
(their raw CRDs and the charts' HelmReleases are applied first).
"""
from __future__ import annotations

from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v2 import components
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v2.releases import RELEASE_ACCOUNT

KUSTOMIZE_API_VERSION = "kustomize.toolkit.fluxcd.io/v1"
RBAC_API_VERSION = "rbac.authorization.k8s.io/v1"
#: The sync objects' names (``gotk-sync.yaml``): the GitRepository every Kustomization here reads.
SYNC_NAME = "flux-system"
NAMESPACE = components.NAMESPACE
#: Directory of the bootstrap objects under the Flux path, next to ``flux-system/``.
TENANTS_DIR = "tenants"
SHARED = "shared-services"
#: The ClusterRole an environment's account is bound to in its namespace (RoleBinding).
ENVIRONMENT_ROLE = "tidepool-environment"
#: kind -> (API group, resource) an environment's files may hold (besides its Namespace, applied by flux-system).
ENVIRONMENT_KINDS = {
    "ConfigMap": ("", "configmaps"),
    "ServiceAccount": ("", "serviceaccounts"),
    "GitRepository": ("source.toolkit.fluxcd.io", "gitrepositories"),
    "HelmRepository": ("source.toolkit.fluxcd.io", "helmrepositories"),
    "HelmRelease": ("helm.toolkit.fluxcd.io", "helmreleases"),
    "ImageRepository": ("image.toolkit.fluxcd.io", "imagerepositories"),
    "ImagePolicy": ("image.toolkit.fluxcd.io", "imagepolicies"),
    "ImageUpdateAutomation": ("image.toolkit.fluxcd.io", "imageupdateautomations"),
    "ExternalSecret": ("external-secrets.io", "externalsecrets"),
    "SecretStore": ("external-secrets.io", "secretstores"),
    "Certificate": ("cert-manager.io", "certificates"),
}
#: What kustomize-controller does with an object: server-side apply (dry run first), read back, prune.
VERBS = ["get", "list", "watch", "create", "update", "patch", "delete"]
INTERVAL = "10m0s"
#: A failed apply (e.g. a CRD a chart installs later) is tried again after this, not after INTERVAL.
RETRY_INTERVAL = "1m0s"


def environment_name(env: str) -> str:
    """Name of an environment's Kustomization and ServiceAccount (in ``flux-system``)."""
    return f"environment-{env}"


def secrets_name(namespace: str) -> str:
    """Name of the Kustomization applying ``external-secrets/<namespace>``."""
    return f"external-secrets-{namespace}"


def environment_role() -> dict:
    """The ClusterRole :data:`ENVIRONMENT_ROLE`: :data:`VERBS` on the resources of :data:`ENVIRONMENT_KINDS`,
    one rule per API group. Bound by RoleBindings only, it grants nothing outside the binding's namespace."""
    groups: dict = {}
    for group, resource in ENVIRONMENT_KINDS.values():
        groups.setdefault(group, []).append(resource)
    rules = [{"apiGroups": [group], "resources": sorted(resources), "verbs": list(VERBS)}
             for group, resources in sorted(groups.items())]
    return {"apiVersion": RBAC_API_VERSION, "kind": "ClusterRole", "metadata": {"name": ENVIRONMENT_ROLE},
            "rules": rules}


def _account(name: str, namespace: str = NAMESPACE) -> dict:
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": namespace}}


def _subject(name: str, namespace: str = NAMESPACE) -> list[dict]:
    return [{"kind": "ServiceAccount", "name": name, "namespace": namespace}]


def _binding(kind: str, name: str, namespace: str | None, role: str, subjects: list) -> dict:
    meta = {"name": name, "namespace": namespace} if namespace else {"name": name}
    return {"apiVersion": RBAC_API_VERSION, "kind": kind, "metadata": meta,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": subjects}


def kustomization(name: str, path: str, account: str, depends_on=()) -> dict:
    """A Kustomization in ``flux-system`` applying ``./<path>`` of the GitRepository ``flux-system`` as the
    ServiceAccount ``flux-system/<account>``, pruning, after the Kustomizations ``depends_on``."""
    spec = {"interval": INTERVAL, "retryInterval": RETRY_INTERVAL, "path": f"./{path.strip('/')}", "prune": True,
            "serviceAccountName": account, "sourceRef": {"kind": "GitRepository", "name": SYNC_NAME}}
    if depends_on:
        spec["dependsOn"] = [{"name": d} for d in depends_on]
    return {"apiVersion": KUSTOMIZE_API_VERSION, "kind": "Kustomization",
            "metadata": {"name": name, "namespace": NAMESPACE}, "spec": spec}


def environment_objects(flux_path: str, env: str, namespace: dict, shared: bool) -> list[dict]:
    """The bootstrap objects of environment ``env``: ``namespace`` (its rendered Namespace), its ServiceAccount,
    the RoleBinding in ``env`` and its Kustomization (after ``shared-services`` when ``shared``)."""
    name = environment_name(env)
    return [namespace, _account(name), _binding("RoleBinding", name, env, ENVIRONMENT_ROLE, _subject(name)),
            kustomization(name, f"{flux_path}/environments/{env}", name, [SHARED] if shared else ()),
            _account(RELEASE_ACCOUNT, env),
            _binding("RoleBinding", RELEASE_ACCOUNT, env, "cluster-admin", _subject(RELEASE_ACCOUNT, env))]


def shared_objects(flux_path: str, objects: list) -> list[dict]:
    """The shared services' bootstrap objects from ``objects`` (those of ``shared/``): their Namespaces, the
    ServiceAccount ``shared-services``, its ClusterRoleBinding to ``cluster-admin`` and their Kustomization, then
    per namespace of a HelmRelease its ``helm-release`` account and ClusterRoleBinding to ``cluster-admin``."""
    namespaces = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Namespace"}
    out = [namespaces[n] for n in sorted(namespaces)]
    out += [_account(SHARED), _binding("ClusterRoleBinding", SHARED, None, "cluster-admin", _subject(SHARED)),
            kustomization(SHARED, f"{flux_path}/shared", SHARED)]
    for ns in sorted({o["metadata"]["namespace"] for o in objects if o["kind"] == "HelmRelease"}):
        out += [_account(RELEASE_ACCOUNT, ns), _binding("ClusterRoleBinding", f"{RELEASE_ACCOUNT}-{ns}", None,
                                                        "cluster-admin", _subject(RELEASE_ACCOUNT, ns))]
    return out


def secrets_objects(flux_path: str, namespace: str, environments, shared: bool) -> list[dict]:
    """The Kustomization of ``external-secrets/<namespace>``: as the environment's account after the environment
    (``namespace`` in ``environments``), else as ``shared-services`` after the shared services."""
    if namespace in environments:
        owner = environment_name(namespace)
    elif shared:
        owner = SHARED
    else:
        return []
    return [kustomization(secrets_name(namespace), f"{flux_path}/external-secrets/{namespace}", owner, [owner])]


def root_kustomization(resources) -> dict:
    """The ``kustomization.yaml`` at the top of the Flux path: what the Kustomization ``flux-system`` applies
    (``flux-system`` and the files of ``tenants/``)."""
    return {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": list(resources)}


def files(flux_path: str, env_namespaces: dict, shared: list, secret_namespaces) -> dict:
    """``{path: object}`` of the bootstrap objects (module docstring) under ``flux_path`` (no trailing slash):
    ``env_namespaces`` maps each environment to its rendered Namespace, ``shared`` holds the objects of ``shared/``,
    ``secret_namespaces`` are the namespaces the secrets step writes ExternalSecrets for. The top
    ``kustomization.yaml`` lists ``flux-system`` and every file of ``tenants/``. A file name is ``<kind>-<name>.yaml``,
    ``<kind>-<name>-<namespace>.yaml`` in ``tenants/shared/`` (the ``helm-release`` accounts of several namespaces)."""
    tenants = f"{flux_path}/{TENANTS_DIR}"
    out = {f"{tenants}/clusterrole-{ENVIRONMENT_ROLE}.yaml": environment_role()}
    if shared:
        for obj in shared_objects(flux_path, shared):
            out[f"{tenants}/shared/{_filename(obj, with_namespace=True)}"] = obj
    for env, namespace in sorted(env_namespaces.items()):
        for obj in environment_objects(flux_path, env, namespace, shared):
            out[f"{tenants}/{env}/{_filename(obj)}"] = obj
    for ns in sorted(secret_namespaces):
        for obj in secrets_objects(flux_path, ns, env_namespaces, shared):
            out[f"{tenants}/external-secrets/{_filename(obj)}"] = obj
    resources = [components.NAMESPACE] + sorted(p[len(flux_path) + 1:] for p in out)
    out[f"{flux_path}/kustomization.yaml"] = root_kustomization(resources)
    return out


def _filename(obj: dict, with_namespace: bool = False) -> str:
    meta = obj["metadata"]
    suffix = f"-{meta['namespace']}" if with_namespace and meta.get("namespace") not in (None, NAMESPACE) else ""
    return f"{obj['kind'].lower()}-{meta['name']}{suffix}.yaml"
