# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""The chart catalogue of Flux v1 (the install guide's stack): the shared charts and repositories
(:data:`config.catalogue.SHARED_CHARTS`, :data:`config.catalogue.SHARED_CHART_REPOSITORIES`) plus cert-manager
v0.10 (``certmanager.k8s.io/v1alpha1``), kubernetes-external-secrets and the fluxcd repository helm-operator is
told about (research section 9.2)."""
from __future__ import annotations

from ansible_collections.tidepool.eks.plugins.module_utils.config import catalogue

#: kubernetes-external-secrets' chart repository.
KES_REPO = "https://external-secrets.github.io/kubernetes-external-secrets/"

#: ``(name, url)`` in the order helm-operator's repositories file lists them.
CHART_REPOSITORIES = catalogue.SHARED_CHART_REPOSITORIES + (
    ("fluxcd", "https://charts.fluxcd.io"),
    ("external-secrets", KES_REPO),
)

#: The chart of each package with a release (``pkgs.<pkg>.chart`` overrides it).
CHARTS = {
    **catalogue.SHARED_CHARTS,
    "certmanager": {"repository": "https://charts.jetstack.io", "name": "cert-manager", "version": "v0.10.0"},
    "external-secrets": {"repository": KES_REPO, "name": "kubernetes-external-secrets", "version": "8.5.5"},
}
