# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Catalogues of tidepool.eks: the shared-service packages (``pkgs``); the Tidepool charts, their services and
secrets are :mod:`config.tidepool_chart`'s.

One file owns these lists; the config role, the validation and the tests read them from here.
Sources: the Tidepool install guide (``../shared/seeds/001_*.txt``) and the make_* era template
(``tidepool-quickstart`` at T 13533a41, research ``tidepool-tools.md`` sections 17.3, 17.4 and 19).
"""
from __future__ import annotations

#: Kubernetes versions tidepool.eks accepts for ``cluster.metadata.version`` (EKS standard or
#: extended support on 2026-11-21), newest last.
SUPPORTED_KUBERNETES_VERSIONS = ("1.31", "1.32", "1.33", "1.34", "1.35")

#: Default Kubernetes version of a new cluster (EKS standard support). The guide's "1.14" is long gone.
DEFAULT_KUBERNETES_VERSION = "1.34"

#: Shared-service packages (``pkgs.<name>.enabled`` in the inventory). For each package:
#:   namespace    the namespace its objects live in (created by the package unless ``None``)
#:   irsa         name of the IRSA service account eksctl creates for it, or None
#: The manifests themselves are built in :mod:`config.packages` (charts and their values: the flavour's ``CHARTS``
#: and ``chart_values``, gitops/flux_v1/charts.py, gitops/flux_v2/charts.py); this table is the index.
PKGS = {
    "amazon-cloudwatch": {"namespace": "amazon-cloudwatch", "irsa": "cloudwatch"},
    "certmanager": {"namespace": "certmanager", "irsa": "certmanager"},
    "cluster-autoscaler": {"namespace": "kube-system", "irsa": "cluster-autoscaler"},
    "datadog": {"namespace": "datadog", "irsa": None},
    "external-dns": {"namespace": "external-dns", "irsa": "external-dns"},
    "external-secrets": {"namespace": "external-secrets", "irsa": "external-secrets"},
    "flux": {"namespace": "flux", "irsa": None},
    "fluxcloud": {"namespace": "flux", "irsa": None},
    "gloo": {"namespace": "gloo-system", "irsa": None},
    "gloo-crds": {"namespace": None, "irsa": None},
    "linkerd-crds": {"namespace": "linkerd", "irsa": None},
    "metrics-server": {"namespace": "metrics-server", "irsa": None},
    "prometheus-operator": {"namespace": "monitoring", "irsa": None},
    "reloader": {"namespace": "reloader", "irsa": None},
    "sumologic": {"namespace": "sumologic", "irsa": None},
}

#: The namespace of each flavour's GitOps operator, by ``flux_version`` (the flavours' ``OPERATOR_NAMESPACE``; a unit
#: test checks they agree): Flux v1's is also the ``flux`` package's, Flux v2's belongs to its install.
GITOPS_OPERATOR_NAMESPACES = {1: "flux", 2: "flux-system"}

#: Namespaces a Tidepool environment may not take, with whose they are: Kubernetes' own (``default``, and every
#: ``kube-*`` name, see :func:`reserved_namespace`), each flavour's GitOps operator and every shared-service package
#: of either flavour (a cluster may migrate from one flavour to the other).
RESERVED_NAMESPACES = frozenset(
    {"default", "kube-system", "kube-public", "kube-node-lease"}
    | set(GITOPS_OPERATOR_NAMESPACES.values())
    | {p["namespace"] for p in PKGS.values() if p["namespace"]}
)

#: Cluster-level vendor secrets of the secrets catalogue (:mod:`secrets.catalogue`), placeholders created when
#: their package is enabled (``pkgs.<pkg>.enabled``): ``(namespace, name) -> {"pkg": ..., "keys": {...}}``. Here,
#: beside :data:`PKGS`, because where a package's secrets live decides which namespaces hold secrets
#: (:func:`config.inventory.secret_namespaces`).
CLUSTER_VENDOR_SECRETS = {
    ("datadog", "datadog"): {"pkg": "datadog", "keys": {"api-key": "", "app-key": "", "token": ""}},
    ("flux", "slack"): {"pkg": "fluxcloud", "keys": {"url": ""}},
    ("sumologic", "sumologic"): {"pkg": "sumologic", "keys": {"collector-url": ""}},
}


def reserved_namespace(name: str) -> str | None:
    """Why ``name`` cannot be a Tidepool environment's namespace, or None when it is free: ``"a namespace Kubernetes
    reserves (default, kube-*)"``, ``"the namespace of the Flux v2 controllers (flux_version 2)"``, ``"the namespace
    of the shared services flux, fluxcloud"``..."""
    if name == "default" or name.startswith("kube-"):
        return "a namespace Kubernetes reserves (default, kube-*)"
    owners = [f"the Flux v{v} controllers (flux_version {v})" for v, ns in sorted(GITOPS_OPERATOR_NAMESPACES.items())
              if ns == name]
    pkgs = [pkg for pkg, p in sorted(PKGS.items()) if p["namespace"] == name]
    if pkgs:
        owners.append(f"the shared service{'s' if len(pkgs) > 1 else ''} {', '.join(pkgs)}")
    return f"the namespace of {' and of '.join(owners)}" if owners else None
