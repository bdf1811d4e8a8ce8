# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""The Flux v2 flavour (``flux_version: 2``): the current stack.

source-controller fetches charts from ``HelmRepository`` / ``GitRepository`` sources and helm-controller installs
``helm.toolkit.fluxcd.io/v2`` HelmReleases with Helm 3, no Tiller (:mod:`.releases`); image-reflector and
image-automation controllers follow image tags (:mod:`.images`); notification-controller posts to Slack
(:mod:`.notifications`); the External Secrets Operator writes Secrets through a SecretStore per namespace
(:mod:`.external_secrets`); cert-manager 1.x serves ``cert-manager.io/v1``. The operator's own install
(``flux_bootstrap``: the components, the sync objects and the deploy key) is :mod:`.bootstrap` over
:mod:`.components`. Every Flux v2 API string of the collection's plugins lives in this package.
"""
from __future__ import annotations

from ansible_collections.tidepool.eks.plugins.module_utils.common.errors import TidepoolError
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.errors import FluxBootstrapError
from ansible_collections.tidepool.eks.plugins.module_utils.config import tidepool_chart
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flavour import Flavour
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v2 import bootstrap
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v2 import charts
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v2 import components
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v2 import external_secrets
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v2 import images
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v2 import notifications
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v2 import releases
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v2 import tenancy

#: The GitRepository ``flux bootstrap`` creates for the config repository (what image automation commits to).
SYNC_SOURCE = {"kind": "GitRepository", "name": "flux-system", "namespace": "flux-system"}


class FluxV2(Flavour):
    """Flux v2 (source, helm, notification and image controllers), the External Secrets Operator, cert-manager 1.x."""

    VERSION = 2
    NAME = "Flux v2"
    INSTALLS_COMPONENTS = True
    IMAGE_AUTOMATION = "controllers"
    REPORTS_APPLIED_REVISION = True  # Kustomization status.lastAppliedRevision
    MIGRATION_TARGET = True
    SECRET_MANIFEST_FORMATS = external_secrets.MANIFEST_FORMATS
    OPERATOR_NAMESPACE = "flux-system"
    RENDERS_OPERATOR_NAMESPACE = False
    CERT_MANAGER_API_VERSION = "cert-manager.io/v1"
    SECRETS_OPERATOR = "external-secrets-operator"
    UNSUPPORTED_OPTIONS = {
        "pkgs.fluxcloud.githubUrl": "Flux v2 Alerts have no commit links (fluxcloud's githubUrl); remove it",
        "pkgs.fluxcloud.chart": "Flux v2 relays events with a Provider and an Alert, not the fluxcloud chart; "
                                "remove it",
        "pkgs.fluxcloud.values": "Flux v2 relays events with a Provider and an Alert, not the fluxcloud chart; "
                                 "remove it (channel, username and secret are read)",
    }
    WORKLOADS = tuple((name, name) for name in components.CONTROLLERS)
    BOOTSTRAP_REQUIRED = ("components_path",)
    CHART_REPOSITORIES = charts.CHART_REPOSITORIES
    CHARTS = charts.CHARTS
    TIDEPOOL_CHART = tidepool_chart.CHART_0_26
    OCI_CHARTS = True  # source-controller: HelmRepository type oci
    UNSUPPORTED_PACKAGES = charts.UNSUPPORTED_PACKAGES
    EMPTY_PACKAGES = charts.EMPTY_PACKAGES
    GIT_CREDENTIALS_IN_SECRET = True  # GitRepository secretRef: username / password (bootstrap.deploy_key_secret)

    def __init__(self):
        self.repositories = {url: name for name, url in self.CHART_REPOSITORIES}

    # bootstrap
    def deploy_key_secret_ref(self, spec):
        return (components.NAMESPACE, bootstrap.NAME, bootstrap.IDENTITY)

    def bootstrap_objects(self, spec, private_key, tls):
        path = spec.get("components_path")
        if path:
            install = components.parse(components.read(path, spec.get("components_sha256")), path)
        elif spec.get("state") == "absent" and not spec.get("remove_crds"):
            # what to delete: the release's Namespace and controllers (the CRDs stay)
            install = [components.namespace()] + components.controller_objects()
        else:
            raise FluxBootstrapError("components_path is required for flux_version 2 (the Flux components file the "
                                     "flux role fetches: flux2_components_url).")
        return bootstrap.objects(spec, private_key, install)

    def before_delete(self, obj):
        # Suspended, a Kustomization's deletion does not garbage-collect what it applied (the whole cluster).
        if obj["kind"] == "Kustomization":
            return {**obj, "spec": {**obj["spec"], "suspend": True}}
        return None

    # rendering
    def chart_values(self, pkg, settings):
        return charts.chart_values(pkg, settings)

    def chart_sources(self, namespace, repositories):
        # none in flux-system: each release's source is in its own namespace (releases.own_sources; the lockdown)
        return []

    def helm_release(self, name, namespace, chart, values, *, release_name=None, image_policy=None, depends_on=None,
                     server_side_apply=True):
        spec = releases.chart_spec(name, namespace, chart, self.repositories)
        return releases.helm_release(name, namespace, spec, values, release_name=release_name, depends_on=depends_on,
                                     server_side_apply=server_side_apply,
                                     keep_crds=chart.get("name") in charts.KEEP_CRDS_BY_POST_RENDERER)

    def release_sources(self, name, namespace, chart):
        return releases.own_sources(name, namespace, chart, self.repositories)

    def image_update_policy(self, image_policy):
        return {}

    def image_automation(self, namespace, image_policy, settings):
        return images.objects(namespace, image_policy, settings["images"], SYNC_SOURCE, settings["path"],
                              settings["email"])

    def notifications(self, settings):
        raise TidepoolError("flux_version 2 has no fluxcloud chart: its notifications are notification_objects.")

    def notification_objects(self, namespace, settings, namespaces):
        sources = [("Kustomization", self.OPERATOR_NAMESPACE), ("GitRepository", self.OPERATOR_NAMESPACE),
                   ("HelmRelease", self.OPERATOR_NAMESPACE)]
        for ns in namespaces:
            sources += [("HelmRelease", ns), ("ImageUpdateAutomation", ns)]
        return notifications.objects(namespace, settings, sources)

    def tenancy_files(self, flux_path, env_namespaces, shared, secret_namespaces):
        return tenancy.files(flux_path, env_namespaces, shared, secret_namespaces)

    def secret_manifest(self, metadata, store_id, keys, *, secret_type=None, region=None, role_arn=None,
                        manifest_format=None):
        if role_arn:
            raise TidepoolError("role_arn has no flux_version 2 equivalent: each namespace's SecretStore reads with "
                                "its own IRSA role; remove it.")
        if manifest_format not in (None, "spec"):
            raise TidepoolError(f"manifest_format={manifest_format!r} has no flux_version 2 equivalent; use spec.")
        return external_secrets.manifest(metadata, store_id, keys, secret_type=secret_type)

    def secret_store_objects(self, namespace, region):
        return [external_secrets.secret_store(namespace, region)]

    def secret_reader_accounts(self, cluster, region, account, namespaces):
        return [external_secrets.reader_account(cluster, ns, region, account) for ns in namespaces]

    # teardown
    def release_kind(self):
        return {"api_version": releases.HELM_RELEASE_API_VERSION, "kind": releases.KIND}

    def secret_kind(self):
        return {"api_version": external_secrets.API_VERSION, "kind": external_secrets.KIND}
