# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""The Flux v1 flavour (``flux_version: 1``): the install guide's stack.

fluxd syncs the config repository; helm-operator 1.x installs ``helm.fluxcd.io/v1`` HelmReleases through Tiller
with TLS (:mod:`.releases`, :mod:`.tls`); Flux automates images from ``fluxcd.io/*`` annotations;
kubernetes-external-secrets writes Secrets from ``kubernetes-client.io/v1`` ExternalSecrets
(:mod:`.external_secrets`); fluxcloud relays Flux events to Slack. The operator's own objects are built in
:mod:`.bootstrap`. Every Flux v1 API string of the collection's plugins lives in this package.
"""
from __future__ import annotations

from ansible_collections.tidepool.eks.plugins.module_utils.config import tidepool_chart
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flavour import Flavour
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v1 import bootstrap
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v1 import charts
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v1 import external_secrets
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v1 import releases
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v1 import tls as tls_files


class FluxV1(Flavour):
    """Flux v1 (fluxd 1.25, helm-operator 1.4, Tiller 2.17 with TLS, kubernetes-external-secrets)."""

    VERSION = 1
    NAME = "Flux v1"
    HELM_OPERATOR = True
    PUSHES_SYNC_TAG = True  # fluxd moves its sync tag (flux_git_label) in the config repository
    SECRET_READERS = "controller"  # kubernetes-external-secrets: one controller account reads every namespace's secrets
    DEFAULT_IMAGES = bootstrap.DEFAULT_IMAGES
    WORKLOADS = bootstrap.WORKLOADS
    NEEDS_TILLER_TLS = True
    BOOTSTRAP_REQUIRED = ("tiller_tls_dir", "helm_operator_tls_dir")
    SECRET_MANIFEST_FORMATS = external_secrets.MANIFEST_FORMATS
    CHART_REPOSITORIES = charts.CHART_REPOSITORIES
    CHARTS = charts.CHARTS
    TIDEPOOL_CHART = tidepool_chart.CHART_0_1
    UNSUPPORTED_PACKAGES = charts.UNSUPPORTED_PACKAGES
    EMPTY_PACKAGES = charts.EMPTY_PACKAGES

    def deploy_key_secret_ref(self, spec):
        return bootstrap.deploy_key_secret_ref(spec)

    def bootstrap_objects(self, spec, private_key, tls):
        return bootstrap.objects(spec, private_key, tls)

    def read_tls(self, spec):
        return tls_files.read_tls(spec)

    def placeholder_tls(self):
        return dict(tls_files.NO_TLS)

    def chart_values(self, pkg, settings):
        return charts.chart_values(pkg, settings)

    def chart_sources(self, namespace, repositories):
        return [releases.repositories_secret(namespace, repositories)]

    def helm_release(self, name, namespace, chart, values, *, release_name=None, image_policy=None, depends_on=None,
                     server_side_apply=True):
        # helm-operator 1.x has no ordering between releases: depends_on is not written; its Helm 3 applies
        # client-side: server_side_apply is not written either.
        return releases.helm_release(name, namespace, chart, values, release_name=release_name,
                                     image_policy=image_policy)

    def image_update_policy(self, image_policy):
        return {"annotations": releases.image_annotations(image_policy)}

    def notifications(self, settings):
        return releases.fluxcloud_values(settings)

    def secret_manifest(self, metadata, store_id, keys, *, secret_type=None, region=None, role_arn=None,
                        manifest_format=None):
        return external_secrets.manifest(metadata, store_id, keys, secret_type=secret_type, region=region,
                                         role_arn=role_arn, manifest_format=manifest_format or "spec")

    def secret_namespace_annotations(self, cluster, namespace):
        return external_secrets.namespace_annotations(cluster, namespace)

    def secret_reader_accounts(self, cluster, region, account, namespaces):
        # one controller reads every namespace's secrets (the namespace annotations limit each namespace)
        return [external_secrets.reader_account(cluster, region, account)]

    def release_kind(self):
        return {"api_version": releases.HELM_RELEASE_API_VERSION, "kind": releases.HELM_RELEASE_KIND}

    def secret_kind(self):
        return {"api_version": external_secrets.API_VERSION, "kind": external_secrets.KIND}
