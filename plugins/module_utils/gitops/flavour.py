# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""The GitOps flavour interface: what a flavour (Flux v1, Flux v2...) serialises and what it needs.

The renderer (:mod:`config.tree`, :mod:`config.packages`, :mod:`config.environments`) and the cores
(:mod:`gitops.bootstrap`, :mod:`secrets.external_secret`) describe *what* is deployed: services, Helm releases
with their chart and values, which images follow which tags, secrets and where they are stored. A flavour says
*how* its GitOps operator reads it: the object kinds and API versions, annotations, the operator's own install.
:func:`gitops.registry.flavour` returns the flavour of a ``flux_version``.

A flavour is one subclass of :class:`Flavour` (one package under ``gitops/``); every method returns plain data
(dicts and lists of Kubernetes objects) and never touches a cluster.
"""
from __future__ import annotations


class Flavour:
    """Base class of a GitOps flavour. Class attributes:

    * ``VERSION`` -- the ``flux_version`` it implements (int);
    * ``DEFAULT_IMAGES`` -- ``{component: image}`` of the bootstrap, the keys are what ``images`` may override;
    * ``WORKLOADS`` -- ``((Deployment name, what it is), ...)`` the bootstrap waits for, in order;
    * ``NEEDS_TILLER_TLS`` -- whether the bootstrap needs Tiller TLS material (:meth:`read_tls`);
    * ``SECRET_MANIFEST_FORMATS`` -- the ``manifest_format`` values :meth:`secret_manifest` accepts, default first;
    * ``OPERATOR_NAMESPACE`` -- the namespace of the operator's own objects in the config repository (chart sources);
      ``RENDERS_OPERATOR_NAMESPACE`` -- whether the ``flux`` package renders it (False: the operator's install owns it);
    * ``CERT_MANAGER_API_VERSION`` -- the cert-manager API the ClusterIssuers and Certificates are written for;
    * ``SECRETS_OPERATOR`` -- what the ``external-secrets`` package installs (``kubernetes-external-secrets`` or
      ``external-secrets-operator``);
    * ``UNSUPPORTED_OPTIONS`` -- ``{dotted inventory key: why}`` of options the flavour has no equivalent for
      (:func:`config.validation.validate` names each one set);
    * ``BOOTSTRAP_PLANNED`` -- None, or why ``flux_bootstrap`` cannot install the flavour yet;
    * ``BOOTSTRAP_REQUIRED`` -- ``flux_bootstrap`` options the install needs when ``state=present``;
    * ``CHART_REPOSITORIES`` -- ``((name, url), ...)`` the operator is told about (:meth:`chart_sources`);
    * ``CHARTS`` -- ``{package: chart}`` of every package with a release (:meth:`chart`); a package of
      :data:`config.catalogue.PKGS` without one renders plain manifests;
    * ``UNSUPPORTED_PACKAGES`` -- ``{package: why}`` of packages the flavour cannot install
      (:func:`config.validation.validate` names each one enabled);
    * ``EMPTY_PACKAGES`` -- ``{package: why}`` of packages that render no object in the flavour though accepted
      (``gloo-crds`` where the gloo chart installs the CRDs, ``linkerd-crds`` where nothing needs them);
    * ``TIDEPOOL_CHART`` -- the Tidepool chart every environment installs unless ``environments.<env>.chart`` says
      otherwise (:data:`config.tidepool_chart.CHART_0_1` or :data:`~config.tidepool_chart.CHART_0_26`); its version
      decides the environment's values layout and secrets contract;
    * ``OCI_CHARTS`` -- whether the operator installs charts from an OCI registry (``helm_chart_mirror: oci://...``);
    * ``NAME`` -- how messages name the flavour (``Flux v1``);
    * ``INSTALLS_COMPONENTS`` -- whether the install is a pinned components file (``install.yaml``) that is also
      committed to the config repository (``flux-system/``), as ``flux bootstrap`` does;
    * ``HELM_OPERATOR`` -- whether the install is fluxd with helm-operator, which take image overrides and fluxd
      flags (``flux_extra_args``);
    * ``IMAGE_AUTOMATION`` -- how image tags are followed: ``annotations`` (on the releases, read by the operator)
      or ``controllers`` (ImageRepository/ImagePolicy/ImageUpdateAutomation objects);
    * ``PUSHES_SYNC_TAG`` -- whether the operator writes a sync tag to the config repository (its deploy key needs
      write access even without image automation);
    * ``REPORTS_APPLIED_REVISION`` -- whether the operator reports the revision it applied, so that a run can wait
      for it (``flux_wait``) and leave applying the config repository's objects to it;
    * ``MIGRATION_TARGET`` -- whether ``playbooks/migrate_flux_v2.yml`` moves a cluster to this flavour;
    * ``SECRET_READERS`` -- who reads the secrets from Secrets Manager (:meth:`secret_reader_accounts`):
      ``namespace`` (each namespace's own service account) or ``controller`` (the secrets controller's one account);
    * ``GIT_CREDENTIALS_IN_SECRET`` -- whether the operator reads an http(s) config repository's credentials from
      a Secret (``flux_bootstrap`` refuses a ``git_url`` with credentials otherwise).
    """

    VERSION = 0
    DEFAULT_IMAGES: dict = {}
    WORKLOADS: tuple = ()
    NEEDS_TILLER_TLS = False
    SECRET_MANIFEST_FORMATS: tuple = ("spec",)
    OPERATOR_NAMESPACE = "flux"
    RENDERS_OPERATOR_NAMESPACE = True
    CERT_MANAGER_API_VERSION = "certmanager.k8s.io/v1alpha1"
    SECRETS_OPERATOR = "kubernetes-external-secrets"
    UNSUPPORTED_OPTIONS: dict = {}
    BOOTSTRAP_PLANNED: str | None = None
    BOOTSTRAP_REQUIRED: tuple = ()
    CHART_REPOSITORIES: tuple = ()
    CHARTS: dict = {}
    TIDEPOOL_CHART: dict = {}
    OCI_CHARTS = False
    UNSUPPORTED_PACKAGES: dict = {}
    EMPTY_PACKAGES: dict = {}
    NAME = ""
    INSTALLS_COMPONENTS = False
    HELM_OPERATOR = False
    IMAGE_AUTOMATION = "annotations"
    PUSHES_SYNC_TAG = False
    REPORTS_APPLIED_REVISION = False
    MIGRATION_TARGET = False
    SECRET_READERS = "namespace"
    GIT_CREDENTIALS_IN_SECRET = False

    # ----------------------------------------------------------------------------------------- bootstrap

    def deploy_key_secret_ref(self, spec: dict) -> tuple[str, str, str]:
        """``(namespace, Secret name, data key)`` where the flavour keeps the config repository's deploy key.
        ``spec``: the settings of :func:`gitops.bootstrap.normalize_params`."""
        raise NotImplementedError

    def bootstrap_objects(self, spec: dict, private_key: bytes, tls: dict | None) -> list[dict]:
        """Every object of the operator's install, in apply order (namespace and CRDs first, workloads last).
        ``private_key``: the deploy key (OpenSSH PEM bytes); ``tls``: what :meth:`read_tls` returned (or
        :meth:`placeholder_tls` when only the objects' identities matter)."""
        raise NotImplementedError

    def before_delete(self, obj: dict) -> dict | None:
        """``state=absent``: the object to apply to the live ``obj`` before deleting it (None: delete it as it
        is), e.g. a sync object suspended so that its deletion does not garbage-collect what it applied."""
        return None

    def read_tls(self, spec: dict) -> dict | None:
        """TLS material the bootstrap needs (None when the flavour needs none). Raises
        :class:`gitops.errors.FluxBootstrapError` naming the option at fault, with ``missing`` true when a file
        does not exist."""
        return None

    def placeholder_tls(self) -> dict | None:
        """TLS material standing in for :meth:`read_tls`'s when only object identities matter (state=absent,
        check mode before the certificates exist)."""
        return None

    # ----------------------------------------------------------------------------------------- rendering

    def chart(self, pkg: str) -> dict:
        """A copy of package ``pkg``'s chart (``CHARTS``): ``{repository, name, version}`` or ``{git, path, ref}``.
        Raises KeyError for a package without a release."""
        return dict(self.CHARTS[pkg])

    def chart_values(self, pkg: str, settings: dict) -> dict:
        """Values of package ``pkg``'s chart (``CHARTS``), written for that chart's values layout, before
        ``pkgs.<pkg>.values``; ``settings`` (:func:`config.packages.chart_settings`): ``cluster``, ``region``,
        ``log_level`` (``logLevel``, default ``info``), ``kubernetes_version``, ``domain_filters``, the package's
        IRSA ``service_account`` (or None) and ``image`` (``pkgs.<pkg>.image`` or None). Raises KeyError for a
        package without a chart."""
        raise NotImplementedError

    def chart_sources(self, namespace: str, repositories) -> list[dict]:
        """The objects that tell the operator where charts come from; ``repositories``: ``((name, url), ...)``
        (``CHART_REPOSITORIES``), ``namespace``: the operator's namespace."""
        raise NotImplementedError

    def helm_release(self, name: str, namespace: str, chart: dict, values: dict, *, release_name: str | None = None,
                     image_policy: dict | None = None, depends_on=None, server_side_apply: bool = True) -> dict:
        """The object that installs one Helm release: ``name``/``namespace`` of the object, ``chart`` (``{repository,
        name, version}`` or ``{git, path, ref}``), the chart's ``values``, the Helm ``release_name`` (default
        ``name``), the image-update policy (:meth:`image_update_policy`), the releases it needs installed first
        (``depends_on``: ``[{name, namespace}]`` of release objects; a flavour without ordering ignores it) and
        whether its objects may be applied server-side (false: a client-side apply, for a chart server-side apply
        refuses; a flavour whose operator never applies server-side ignores it)."""
        raise NotImplementedError

    def release_sources(self, name: str, namespace: str, chart: dict) -> list[dict]:
        """Chart sources only the release ``name`` in ``namespace`` uses (beyond :meth:`chart_sources`), rendered
        next to it. Default: none."""
        return []

    def image_automation(self, namespace: str, image_policy: dict | None, settings: dict) -> list[dict]:
        """Objects automating the images of ``namespace``'s release (``image_policy`` as in :meth:`helm_release`);
        ``settings``: ``images`` (service -> image repository), ``path`` (the namespace's directory in the config
        repository), ``email`` (commit author). Default: none (the release's metadata carries the policy)."""
        return []

    def notification_objects(self, namespace: str, settings: dict, namespaces) -> list[dict] | None:
        """Objects that relay the operator's events to Slack (``settings`` as in :meth:`notifications`) from the
        operator's and ``namespaces``' objects, in ``namespace``; None means the relay is a chart whose values are
        :meth:`notifications`."""
        return None

    def tenancy_files(self, flux_path: str, env_namespaces: dict, shared: list, secret_namespaces) -> dict:
        """``{path: object}`` of the files that say who applies which directory of ``flux_path`` (the operator's
        multi-tenancy), given each environment's Namespace (``env_namespaces``: env -> Namespace object), the
        objects of ``shared/`` and the namespaces with ExternalSecrets. A Namespace these files hold is left out of
        its own directory. Default: none (the operator applies the whole path as one)."""
        return {}

    def secret_namespace_annotations(self, cluster: str, namespace: str) -> dict:
        """Annotations of a namespace holding secrets that limit the secrets controller to the namespace's own
        secrets (``<cluster>/<namespace>/*``). Default: none."""
        return {}

    def secret_store_objects(self, namespace: str, region: str) -> list[dict]:
        """Objects a namespace with secrets needs for the operator's secrets controller to read them. Default:
        none (one controller reads every namespace's secrets)."""
        return []

    def secret_reader_accounts(self, cluster: str, region: str, account: str, namespaces) -> list[dict]:
        """ClusterConfig ``iam.serviceAccounts`` entries (``{metadata: {name, namespace, labels}, attachPolicy}``)
        of the service accounts that read the secrets of ``namespaces`` (the namespaces that hold secrets,
        :func:`config.inventory.secret_namespaces`) from Secrets Manager (``region``, ``account``)."""
        raise NotImplementedError

    def image_update_policy(self, image_policy: dict | None) -> dict:
        """How a release's image automation is written: ``image_policy`` None means no automation; a dict
        ``{service: tag filter}`` (such as ``glob:develop-*``) automates those services' images. Returns the
        metadata the flavour puts on the release (annotations for Flux v1)."""
        raise NotImplementedError

    def notifications(self, settings: dict) -> dict:
        """Values of the notification relay's chart (the ``fluxcloud`` package) from ``settings``: ``channel``,
        ``username``, ``secret`` (Slack), ``github_url``."""
        raise NotImplementedError

    def secret_manifest(self, metadata: dict, store_id: str, keys, *, secret_type: str | None = None,
                        region: str | None = None, role_arn: str | None = None,
                        manifest_format: str | None = None) -> dict:
        """The object that makes the operator's secrets controller write the Kubernetes Secret ``metadata``
        from the AWS Secrets Manager secret ``store_id`` (a JSON object): one Secret key per name in ``keys``
        (sorted), of ``secret_type`` when not Opaque. No value is part of it. ``manifest_format`` is one of
        :data:`SECRET_MANIFEST_FORMATS` (the caller checks it)."""
        raise NotImplementedError

    # ----------------------------------------------------------------------------------------- teardown and pruning

    def release_kind(self) -> dict:
        """``{"api_version", "kind"}`` of :meth:`helm_release`'s objects: what teardown deletes so that the
        operator removes every release (and the AWS resources their Services hold) before the cluster goes."""
        raise NotImplementedError

    def secret_kind(self) -> dict:
        """``{"api_version", "kind"}`` of :meth:`secret_manifest`'s objects."""
        raise NotImplementedError

    def facts(self) -> dict:
        """What roles need to know about the flavour (filter ``gitops_flavour``): ``version``,
        ``needs_tiller_tls``, ``release_kind`` and ``secret_kind`` (each ``{"api_version", "kind"}``) and
        ``applied_kinds`` (``apiVersion/Kind`` strings of the flavour's kinds the renderer emits)."""
        release, secret = self.release_kind(), self.secret_kind()
        return {"version": self.VERSION, "needs_tiller_tls": self.NEEDS_TILLER_TLS,
                "release_kind": release, "secret_kind": secret,
                "applied_kinds": [f"{k['api_version']}/{k['kind']}" for k in (release, secret)]}

    def role_facts(self) -> dict:
        """The fact ``inventory_values.gitops`` the inventory role publishes (filter ``gitops_flavour``): everything
        a role decides per flavour, so that no role compares flavour numbers. :meth:`facts` plus:

        * ``name`` (str, for messages), ``operator_namespace`` (str, :data:`OPERATOR_NAMESPACE`);
        * ``installs_components``, ``helm_operator``, ``pushes_sync_tag``, ``reports_applied_revision``,
          ``migration_target`` (bool, the class attributes of the same names in upper case);
        * ``image_automation`` (``annotations`` or ``controllers``), ``image_overrides`` (the components whose image
          ``flux_bootstrap``'s ``images`` may override, sorted; empty when the images are the components file's);
        * ``secret_readers`` (``namespace``: each namespace's own service account reads its secrets, an IAM role per
          namespace; ``controller``: the secrets controller's account reads them all);
        * ``deploy_key_secret`` (``{"namespace", "name", "key"}``: the Secret and data key holding the config
          repository's deploy key, in :data:`OPERATOR_NAMESPACE`);
        * ``tidepool_chart`` (the dict :data:`TIDEPOOL_CHART`: the secrets role reads the secrets contract of each
          environment's chart from it and ``environments.<env>.chart``).

        Plain data (str, bool, int, lists and dicts of them); never touches a cluster."""
        namespace, name, key = self.deploy_key_secret_ref({"namespace": self.OPERATOR_NAMESPACE})
        return {**self.facts(), "name": self.NAME, "operator_namespace": self.OPERATOR_NAMESPACE,
                "installs_components": self.INSTALLS_COMPONENTS, "helm_operator": self.HELM_OPERATOR,
                "image_automation": self.IMAGE_AUTOMATION, "image_overrides": sorted(self.DEFAULT_IMAGES),
                "pushes_sync_tag": self.PUSHES_SYNC_TAG, "reports_applied_revision": self.REPORTS_APPLIED_REVISION,
                "migration_target": self.MIGRATION_TARGET,
                "secret_readers": self.SECRET_READERS, "tidepool_chart": dict(self.TIDEPOOL_CHART),
                "deploy_key_secret": {"namespace": namespace, "name": name, "key": key}}
