# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""The chart catalogue of Flux v2 (the current stack): the shared charts and repositories
(:data:`config.catalogue.SHARED_CHARTS`, :data:`config.catalogue.SHARED_CHART_REPOSITORIES`) plus cert-manager 1.x
(``cert-manager.io/v1``) and the External Secrets Operator (``external-secrets.io/v1``) in place of
kubernetes-external-secrets, each the version of the reference CRDs."""
from __future__ import annotations

from ansible_collections.tidepool.eks.plugins.module_utils.config import catalogue

#: The External Secrets Operator's chart repository.
ESO_REPO = "https://charts.external-secrets.io"

#: ``(name, url)``: a HelmRepository each, in this order.
CHART_REPOSITORIES = catalogue.SHARED_CHART_REPOSITORIES + (
    ("external-secrets", ESO_REPO),
)

#: The chart of each package with a release (``pkgs.<pkg>.chart`` overrides it).
CHARTS = {
    **catalogue.SHARED_CHARTS,
    "certmanager": {"repository": "https://charts.jetstack.io", "name": "cert-manager", "version": "v1.21.1"},
    "external-secrets": {"repository": ESO_REPO, "name": "external-secrets", "version": "2.9.0"},
}
