# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Flux v1 bootstrap: how the install guide's GitOps stack is serialised into Kubernetes objects.

What is deployed (the settings: git repository, path, label, intervals, images, TLS material, deploy key) is
decided by :mod:`gitops.bootstrap`; this file only turns it into the objects ``eksctl install flux`` wrote
(research ``tidepool-tools.md`` section 9.1) plus the guide's patches (``flux/flux.jsonnet``: 1m sync and poll
intervals, the ``flux-helm-repositories`` Secret mounted into helm-operator, a pinned Tiller):

* namespace; Flux daemon (ServiceAccount, ClusterRole, ClusterRoleBinding, Deployment) and memcached
  (Deployment, Service); the deploy key Secret ``flux-git-deploy`` (key ``identity``, mounted at /etc/fluxd/ssh);
* helm-operator (ServiceAccount, ClusterRole, ClusterRoleBinding, the ``helm.fluxcd.io/v1`` HelmRelease CRD,
  the ``flux-helm-repositories`` Secret, the TLS client Secret ``flux-helm-tls-cert``, the ConfigMap
  ``tiller-ca-cert``, Deployment);
* Tiller with TLS verification on and history 10 (ServiceAccount ``tiller`` bound to cluster-admin, Secret
  ``tiller-secret`` with ``ca.crt``/``tls.crt``/``tls.key``, Deployment and Service ``tiller-deploy``) and the
  ``helm`` client ServiceAccount with Role ``tiller-user``.

:class:`gitops.flux_v1.flavour.FluxV1` exposes it through the flavour interface (:mod:`gitops.flavour`).
"""
from __future__ import annotations

import base64

try:
    import yaml
except ImportError:  # pragma: no cover - Ansible itself needs PyYAML; this keeps the import sanity test quiet
    yaml = None

from ansible_collections.tidepool.eks.plugins.module_utils.config import chart_mirror
from ansible_collections.tidepool.eks.plugins.module_utils.config.manifests import namespace
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v1 import charts
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v1 import helm_operator_crd
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v1 import releases
from ansible_collections.tidepool.eks.plugins.module_utils.k8s.objects import with_labels

#: Images of the last releases of each component (Flux 1.25.4 and helm-operator 1.4.4 are the final Flux v1
#: releases; Tiller v2.17.0 is the final Helm 2 release, published on ghcr.io after gcr.io/kubernetes-helm closed).
DEFAULT_IMAGES = {
    "flux": "docker.io/fluxcd/flux:1.25.4",
    "memcached": "docker.io/library/memcached:1.6.38-alpine",
    "helm_operator": "docker.io/fluxcd/helm-operator:1.4.4",
    "tiller": "ghcr.io/helm/tiller:v2.17.0",
}

DEPLOY_KEY_SECRET = "flux-git-deploy"
DEPLOY_KEY_DATA_KEY = "identity"
TILLER_SECRET = "tiller-secret"
HELM_TLS_SECRET = "flux-helm-tls-cert"
TILLER_CA_CONFIGMAP = "tiller-ca-cert"
TILLER_HISTORY_MAX = 10
TILLER_PORT = 44134

#: Deployments whose readiness ``wait`` checks, in order: (name, what it is).
WORKLOADS = (("memcached", "memcached"), ("flux", "Flux daemon"), ("tiller-deploy", "Tiller"),
             ("flux-helm-operator", "helm-operator"))


def _b64(data) -> str:
    if isinstance(data, str):
        data = data.encode()
    return base64.b64encode(data).decode()


def _meta(name: str, spec: dict, namespace: str | None = None, component: str = "flux") -> dict:
    meta = {"name": name, "labels": {**spec["labels"], "app.kubernetes.io/component": component}}
    if namespace:
        meta["namespace"] = namespace
    return meta


def deploy_key_secret_ref(spec: dict) -> tuple[str, str, str]:
    """(namespace, Secret name, data key) where this flavour keeps the deploy key."""
    return spec["namespace"], DEPLOY_KEY_SECRET, DEPLOY_KEY_DATA_KEY


def deploy_key_secret(spec: dict, private_key: bytes) -> dict:
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": _meta(DEPLOY_KEY_SECRET, spec, spec["namespace"]),
            "data": {DEPLOY_KEY_DATA_KEY: _b64(private_key)}}


def helmrelease_crd(spec: dict) -> dict:
    crd = yaml.safe_load(helm_operator_crd.CRD_YAML)
    crd["metadata"].pop("creationTimestamp", None)
    crd.pop("status", None)
    crd["metadata"].setdefault("labels", {}).update({**spec["labels"], "app.kubernetes.io/component": "helm-operator"})
    return crd


def _deployment(name: str, spec: dict, component: str, pod: dict, strategy: str = "Recreate") -> dict:
    selector = {"app.kubernetes.io/name": name, "app.kubernetes.io/instance": spec["cluster"]}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": _meta(name, spec, spec["namespace"], component),
            "spec": {"replicas": 1, "selector": {"matchLabels": selector}, "strategy": {"type": strategy},
                     "template": {"metadata": {"labels": {**selector, "app.kubernetes.io/component": component}},
                                  "spec": pod}}}


def cluster_scoped_name(spec: dict, name: str) -> str:
    """Name of a cluster-scoped object (ClusterRole, ClusterRoleBinding) of service account ``name``: eksctl's
    names (``flux``, ``flux-helm-operator``) in the default namespace, prefixed with the namespace otherwise, so
    two installs in two namespaces never share one."""
    ns = spec["namespace"]
    return name if ns == "flux" else f"{ns}-{name}"


def _cluster_role(name: str, spec: dict, component: str, rules: list) -> list:
    ns = spec["namespace"]
    cname = cluster_scoped_name(spec, name)
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(name, spec, ns, component)},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": _meta(cname, spec, None, component),
         "rules": rules},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": _meta(cname, spec, None, component),
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": cname},
         "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": ns}]},
    ]


ALL_RULES = [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}, {"nonResourceURLs": ["*"], "verbs": ["*"]}]


def flux_args(spec: dict) -> list:
    """Arguments of the Flux daemon (fluxd 1.x flag names)."""
    ns = spec["namespace"]
    args = [
        f"--memcached-hostname=memcached.{ns}.svc.cluster.local",
        "--memcached-service=",
        "--ssh-keygen-dir=/var/fluxd/keygen",
        f"--k8s-secret-name={DEPLOY_KEY_SECRET}",
        f"--git-url={spec['git_url']}",
        f"--git-branch={spec['git_branch']}",
        f"--git-path={spec['git_path']}",
        f"--git-label={spec['git_label']}",
        f"--git-user={spec['git_user']}",
        f"--git-email={spec['git_email']}",
        f"--git-poll-interval={spec['git_poll_interval']}",
        f"--sync-interval={spec['sync_interval']}",
        f"--sync-garbage-collection={'true' if spec['sync_garbage_collection'] else 'false'}",
        "--manifest-generation=false",
        "--listen-metrics=:3031",
    ]
    return args + list(spec.get("flux_extra_args") or [])


def helm_operator_args(spec: dict) -> list:
    ns = spec["namespace"]
    return [
        "--helm-versions=v2",
        f"--tiller-namespace={ns}",
        f"--tiller-tls-hostname=tiller-deploy.{ns}",
        "--tiller-tls-enable=true",
        "--tiller-tls-verify=true",
        "--tiller-tls-key-path=/etc/fluxd/helm/tls.key",
        "--tiller-tls-cert-path=/etc/fluxd/helm/tls.crt",
        "--tiller-tls-ca-cert-path=/etc/fluxd/helm-ca/ca.crt",
        f"--charts-sync-interval={spec['sync_interval']}",
        "--update-chart-deps=true",
        "--git-timeout=20s",
        "--log-release-diffs=false",
    ]


def objects(spec: dict, private_key: bytes, tls: dict) -> list:
    """Every object of the Flux v1 install, in apply order (namespace and CRD first, workloads last).

    ``spec``: the normalised settings of :func:`gitops.bootstrap.normalize_params` (``namespace``, ``cluster``,
    ``git_*``, intervals such as ``"1m"``, ``sync_garbage_collection``, ``images``, ``labels``).
    ``private_key``: the deploy key (OpenSSH PEM bytes). ``tls``: PEM bytes ``ca``, ``server_cert``,
    ``server_key``, ``client_cert``, ``client_key`` (the Tiller server and helm-operator client certificates
    issued by helm_tls_cert).
    """
    ns = spec["namespace"]
    images = spec["images"]
    # The namespace and the repositories Secret are also rendered into the config repository (pkgs.flux):
    # the same objects as there (config.packages), so neither apply undoes the other.
    # With the labels the roles' direct apply (apply_plan, same field manager) gives them: identical objects, so
    # neither server-side apply takes a field away from the other.
    out = [with_labels(namespace(ns), spec["cluster"], "cluster"), helmrelease_crd(spec)]

    # Flux daemon + memcached
    out += _cluster_role("flux", spec, "flux", ALL_RULES)
    out.append(deploy_key_secret(spec, private_key))
    out.append({"apiVersion": "v1", "kind": "Service", "metadata": _meta("memcached", spec, ns, "memcached"),
                "spec": {"ports": [{"name": "memcached", "port": 11211, "protocol": "TCP", "targetPort": 11211}],
                         "selector": {"app.kubernetes.io/name": "memcached",
                                      "app.kubernetes.io/instance": spec["cluster"]}}})
    out.append(_deployment("memcached", spec, "memcached", {
        "containers": [{"name": "memcached", "image": images["memcached"], "imagePullPolicy": "IfNotPresent",
                        "args": ["-m 512", "-I 5m", "-p 11211"],
                        "ports": [{"name": "clients", "containerPort": 11211}],
                        "securityContext": {"runAsUser": 11211, "runAsGroup": 11211,
                                            "allowPrivilegeEscalation": False}}]}))
    out.append(_deployment("flux", spec, "flux", {
        "serviceAccountName": "flux",
        "volumes": [{"name": "git-key", "secret": {"secretName": DEPLOY_KEY_SECRET, "defaultMode": 0o400}},
                    {"name": "git-keygen", "emptyDir": {"medium": "Memory"}}],
        "containers": [{"name": "flux", "image": images["flux"], "imagePullPolicy": "IfNotPresent",
                        "ports": [{"containerPort": 3030}],
                        "volumeMounts": [{"name": "git-key", "mountPath": "/etc/fluxd/ssh", "readOnly": True},
                                         {"name": "git-keygen", "mountPath": "/var/fluxd/keygen"}],
                        "args": flux_args(spec)}]}))

    # Tiller with TLS
    out.append({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta("tiller", spec, ns, "tiller")})
    out.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                "metadata": _meta(f"tiller-{ns}", spec, None, "tiller"),
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
                "subjects": [{"kind": "ServiceAccount", "name": "tiller", "namespace": ns}]})
    out.append({"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": _meta(TILLER_SECRET, spec, ns, "tiller"),
                "data": {"ca.crt": _b64(tls["ca"]), "tls.crt": _b64(tls["server_cert"]),
                         "tls.key": _b64(tls["server_key"])}})
    out.append({"apiVersion": "v1", "kind": "Service", "metadata": _meta("tiller-deploy", spec, ns, "tiller"),
                "spec": {"ports": [{"name": "tiller", "port": TILLER_PORT, "protocol": "TCP", "targetPort": "tiller"}],
                         "selector": {"app.kubernetes.io/name": "tiller-deploy",
                                      "app.kubernetes.io/instance": spec["cluster"]}}})
    out.append(_deployment("tiller-deploy", spec, "tiller", {
        "serviceAccountName": "tiller",
        "automountServiceAccountToken": True,
        "volumes": [{"name": "tiller-certs", "secret": {"secretName": TILLER_SECRET}}],
        "containers": [{"name": "tiller", "image": images["tiller"], "imagePullPolicy": "IfNotPresent",
                        "env": [{"name": "TILLER_NAMESPACE", "value": ns},
                                {"name": "TILLER_HISTORY_MAX", "value": str(TILLER_HISTORY_MAX)},
                                {"name": "TILLER_TLS_VERIFY", "value": "1"},
                                {"name": "TILLER_TLS_ENABLE", "value": "1"},
                                {"name": "TILLER_TLS_CERTS", "value": "/etc/certs"}],
                        "ports": [{"name": "tiller", "containerPort": TILLER_PORT},
                                  {"name": "http", "containerPort": 44135}],
                        "livenessProbe": {"httpGet": {"path": "/liveness", "port": 44135},
                                          "initialDelaySeconds": 1, "timeoutSeconds": 1},
                        "readinessProbe": {"httpGet": {"path": "/readiness", "port": 44135},
                                           "initialDelaySeconds": 1, "timeoutSeconds": 1},
                        "volumeMounts": [{"name": "tiller-certs", "mountPath": "/etc/certs", "readOnly": True}]}]},
        strategy="RollingUpdate"))
    # helm client access to Tiller (port-forward), as eksctl's tiller-rbac.yaml
    out.append({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta("helm", spec, ns, "tiller")})
    out.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": _meta("tiller-user", spec, ns, "tiller"),
                "rules": [{"apiGroups": [""], "resources": ["pods/portforward"], "verbs": ["create"]},
                          {"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}]})
    out.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                "metadata": _meta("tiller-user-binding", spec, ns, "tiller"),
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "tiller-user"},
                "subjects": [{"kind": "ServiceAccount", "name": "helm", "namespace": ns}]})

    # helm-operator
    out += _cluster_role("flux-helm-operator", spec, "helm-operator", ALL_RULES)
    out.append({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
                "metadata": _meta(HELM_TLS_SECRET, spec, ns, "helm-operator"),
                "data": {"tls.crt": _b64(tls["client_cert"]), "tls.key": _b64(tls["client_key"])}})
    out.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta(TILLER_CA_CONFIGMAP, spec, ns, "helm-operator"),
                "data": {"ca.crt": tls["ca"].decode() if isinstance(tls["ca"], bytes) else tls["ca"]}})
    # with the chart mirror as the render's flux package writes it (config/packages.py), so both writers agree
    repositories = chart_mirror.with_mirror(charts.CHART_REPOSITORIES, spec.get("chart_mirror"))
    out.append(with_labels(releases.repositories_secret(ns, repositories), spec["cluster"], "shared"))
    out.append(_deployment("flux-helm-operator", spec, "helm-operator", {
        "serviceAccountName": "flux-helm-operator",
        "volumes": [{"name": "helm-tls-certs", "secret": {"secretName": HELM_TLS_SECRET, "defaultMode": 0o400}},
                    {"name": "tiller-tls-ca", "configMap": {"name": TILLER_CA_CONFIGMAP, "defaultMode": 0o600}},
                    {"name": "repositories-yaml", "secret": {"secretName": releases.REPOSITORIES_SECRET}},
                    {"name": "repositories-cache", "emptyDir": {}}],
        "containers": [{"name": "flux-helm-operator", "image": images["helm_operator"], "imagePullPolicy": "IfNotPresent",
                        "ports": [{"name": "http", "containerPort": 3030}],
                        "volumeMounts": [{"name": "helm-tls-certs", "mountPath": "/etc/fluxd/helm", "readOnly": True},
                                         {"name": "tiller-tls-ca", "mountPath": "/etc/fluxd/helm-ca", "readOnly": True},
                                         {"name": "repositories-yaml", "mountPath": "/var/fluxd/helm/repository"},
                                         {"name": "repositories-cache", "mountPath": "/var/fluxd/helm/repository/cache"}],
                        "args": helm_operator_args(spec)}]}))
    return out
