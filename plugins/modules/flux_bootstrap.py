#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
from __future__ import annotations

DOCUMENTATION = r"""
module: flux_bootstrap
short_description: Install Flux (v1 with helm-operator and TLS Tiller, or v2) into a cluster, pointed at the config repository
description:
  - Replaces C(eksctl install flux) in the Tidepool install guide's C(make_flux), made idempotent.
  - "O(flux_version=1) installs the guide's stack into O(namespace): the namespace; the Flux daemon (ServiceAccount,
    ClusterRole, ClusterRoleBinding, Deployment) and memcached; helm-operator with its (helm-operator 1.x)
    HelmRelease CustomResourceDefinition, the C(flux-helm-repositories) Secret (the guide's chart repositories),
    the TLS client Secret C(flux-helm-tls-cert) and the ConfigMap C(tiller-ca-cert); Tiller with TLS verification
    on and history 10 (Secret C(tiller-secret), Deployment and Service C(tiller-deploy)) and the C(helm) client
    ServiceAccount with Role C(tiller-user)."
  - Flux syncs only O(git_path) (default C(clusters/<cluster>/flux)), never the repository root, so it does not
    try to apply the eksctl ClusterConfig or other files of the config repository.
  - Keeps the deploy key Flux uses for the config repository in the Secret C(flux-git-deploy) (key C(identity)).
    The key is generated once (ed25519, or RSA with O(deploy_key_type=rsa)) and reused on every later run; it is
    replaced only with O(rotate_deploy_key=true). A key Flux or C(eksctl install flux) generated earlier is kept.
    Its public key and fingerprint are returned (register it with M(tidepool.eks.github_deploy_key)); the private
    key never appears in results, diffs or logs.
  - Objects are applied with server-side apply (field manager C(tidepool.eks), conflicts forced). Each object is
    first applied as a server-side dry run and only written when the result differs from the live object.
  - O(state=absent) deletes the objects in reverse order. The HelmRelease CustomResourceDefinition stays unless
    O(remove_crds=true) (deleting it deletes every HelmRelease); the deploy key Secret and the namespace stay with
    O(keep_deploy_key=true).
  - "O(flux_version=2) does what C(flux bootstrap) does, in the namespace C(flux-system): applies the components
    (O(components_path), the Flux release's C(install.yaml): Namespace, CustomResourceDefinitions, RBAC and the
    Deployments of source-, kustomize-, helm-, notification-, image-reflector- and image-automation-controller,
    exactly as the config repository's C(flux-system/gotk-components.yaml)), the deploy key Secret
    C(flux-system) and the sync objects of C(gotk-sync.yaml): GitRepository C(flux-system) (O(git_url) as
    C(ssh://), O(git_branch), polled every O(git_poll_interval)) and Kustomization C(flux-system) applying
    C(./)O(git_path) with C(prune: true). Custom resources whose CustomResourceDefinition is new are applied once
    it is Established."
  - With O(flux_version=2) the deploy key Secret C(flux-system/flux-system) holds the keys C(flux bootstrap) writes,
    C(identity), C(identity.pub) and C(known_hosts) (O(known_hosts), else GitHub's published host keys for a
    github.com repository; nothing is scanned). O(state=absent) suspends the Kustomization before deleting it, so
    its deletion does not garbage-collect the cluster's workloads.
version_added: 0.1.0
author:
  - Tidepool EKS maintainers (@tidepool-org)
extends_documentation_fragment:
  - tidepool.eks.kubernetes
options:
  cluster:
    description:
      - Name of the cluster (C(cluster.metadata.name)). Default of O(git_path) and O(git_label), and the
        C(app.kubernetes.io/instance) label of every object.
    type: str
    required: true
  flux_version:
    description:
      - GitOps flavour. V(1) is the install guide's Flux v1 with helm-operator and Tiller; V(2) is Flux v2.
    type: int
    choices: [1, 2]
    default: 1
  state:
    description:
      - V(present) installs or updates Flux; V(absent) removes what V(present) created.
    type: str
    choices: [present, absent]
    default: present
  namespace:
    description:
      - Namespace of Flux, helm-operator and Tiller (O(flux_version=1), default C(flux)). O(flux_version=2) installs
        into C(flux-system) only (the namespace of its components file), its default.
    type: str
  git_url:
    description:
      - SSH URL of the config repository Flux syncs, for example C(git@github.com:tidepool-org/cluster-test1.git).
        With O(flux_version=2) also an C(https://) URL.
      - Credentials in an C(https://user:token@host/...) URL (O(flux_version=2) only; Flux v1 would keep them in
        its Deployment's arguments, so it refuses them) are moved to the Secret C(flux-system/flux-system) as
        C(username) and C(password), which the GitRepository reads through C(secretRef), as C(flux bootstrap)
        does. The GitRepository's C(spec.url), RV(git)'s C(url) and the messages hold the URL without them. Prefer
        O(git_userinfo), so the token is not part of the URL the task shows.
      - Required when O(state=present).
    type: str
  git_userinfo:
    description:
      - O(flux_version=2) - C(user:token) for an C(https://) O(git_url), percent-encoded as in a URL (the
        C(tidepool.eks.flux) role splits them off C(flux_git_url)). Stored in the Secret C(flux-system/flux-system)
        (C(username), C(password)); never in the GitRepository, the results or the logs.
    type: str
  git_branch:
    description:
      - Branch of the config repository.
    type: str
    default: master
  git_path:
    description:
      - Directory of the config repository that Flux applies (C(--git-path)). Defaults to the cluster's Flux directory
        C(clusters/<cluster>/flux). The repository root is refused.
    type: str
  git_label:
    description:
      - Git tag Flux moves to the last synced commit (C(--git-label)). Defaults to O(cluster).
    type: str
  git_user:
    description:
      - Git author name of Flux's commits.
    type: str
    default: Flux
  git_email:
    description:
      - Git author email of Flux's commits (the inventory's C(email)). Required when O(state=present).
    type: str
  git_poll_interval:
    description:
      - How often Flux polls the repository (a duration such as V(1m); the guide's value).
    type: str
    default: 1m
  sync_interval:
    description:
      - How often Flux applies the repository even without new commits; also helm-operator's chart sync interval.
    type: str
    default: 1m
  sync_garbage_collection:
    description:
      - Let Flux delete objects it created that were removed from the repository (C(--sync-garbage-collection)).
    type: bool
    default: true
  images:
    description:
      - Container images by component, overriding the defaults (the last releases of each component).
      - "Keys for O(flux_version=1): C(flux) (default C(docker.io/fluxcd/flux:1.25.4)), C(memcached)
        (C(docker.io/library/memcached:1.6.38-alpine)), C(helm_operator) (C(docker.io/fluxcd/helm-operator:1.4.4)),
        C(tiller) (C(ghcr.io/helm/tiller:v2.17.0))."
    type: dict
  flux_extra_args:
    description:
      - Further flags of the Flux daemon, for example C(--connect=ws://fluxcloud) when fluxcloud is enabled.
    type: list
    elements: str
  tiller_tls_dir:
    description:
      - Directory with the Tiller server certificate C(ca.pem), C(cert.pem), C(key.pem) (M(tidepool.eks.helm_tls_cert)
        O(tidepool.eks.helm_tls_cert#module:server_dest)). Becomes the Secret C(tiller-secret) and the ConfigMap
        C(tiller-ca-cert). Required when O(state=present) and the flavour runs Tiller (O(flux_version=1)).
    type: path
  helm_operator_tls_dir:
    description:
      - Directory with the client certificate C(cert.pem) and C(key.pem) helm-operator uses to talk to Tiller,
        signed by the same CA (M(tidepool.eks.helm_tls_cert) client certificate, C(<helm_home>/clusters/<cluster>)).
        Becomes the Secret C(flux-helm-tls-cert). Required when O(state=present) and the flavour runs Tiller
        (O(flux_version=1)).
    type: path
  components_path:
    description:
      - O(flux_version=2) - the Flux components file (the release's C(install.yaml), or its offline assembly) on
        the machine running the module; the flux role fetches it (C(flux2_components_url)). Required when
        O(state=present), and with O(remove_crds=true).
    type: path
  components_sha256:
    description:
      - O(flux_version=2) - sha256 that O(components_path) must have; the run fails before any change otherwise.
    type: str
  known_hosts:
    description:
      - O(flux_version=2) - SSH host keys of the config repository's host (C(known_hosts) lines), kept in the deploy
        key Secret. Default for github.com, GitHub's published keys; required for another SSH host.
    type: str
  chart_mirror:
    description:
      - O(flux_version=1) - the chart mirror (the inventory's C(helm_chart_mirror), an C(http(s)://) chart
        repository), added as the repository C(mirror) to the C(flux-helm-repositories) Secret helm-operator reads,
        as the render's C(flux) package writes the same Secret. Ignored by O(flux_version=2), whose sources name it.
    type: str
  deploy_key_type:
    description:
      - Type of a newly generated deploy key. An existing key of another type is kept.
    type: str
    choices: [ed25519, rsa]
    default: ed25519
  deploy_key_bits:
    description:
      - Size of a newly generated RSA deploy key.
    type: int
    default: 4096
  rotate_deploy_key:
    description:
      - Replace the deploy key with a new one. Register the new public key on the config repository afterwards.
    type: bool
    default: false
  keep_deploy_key:
    description:
      - With O(state=absent), keep the deploy key Secret (and so the namespace), so a reinstall reuses the key.
    type: bool
    default: false
  remove_crds:
    description:
      - With O(state=absent), also delete the HelmRelease CustomResourceDefinition and with it every HelmRelease.
    type: bool
    default: false
  wait:
    description:
      - After applying, wait for the Deployments (Flux, memcached, Tiller and helm-operator for O(flux_version=1),
        the controllers for V(2)) to have their replicas available. The CustomResourceDefinitions are always waited
        for until they are Established.
      - Set V(false) on clusters without nodes (the local stack), where pods never start.
    type: bool
    default: true
  wait_timeout:
    description:
      - How long to wait for each object, in seconds.
    type: int
    default: 300
attributes:
  check_mode:
    support: full
    description: Every object is sent as a server-side dry run (C(dryRun=All)); nothing is written and no key is stored.
  diff_mode:
    support: full
    description: Before and after of every changed object; Secret values are hidden, only their key names are shown.
  idempotent:
    support: full
    description: A second identical run reuses the deploy key, sends no write and reports no change.
notes:
  - In check mode, when a deploy key would be generated, RV(deploy_key.public_key) and RV(deploy_key.fingerprint)
    are null (the real run generates another key).
  - Objects in a namespace that does not exist yet cannot be dry-run by the API server; in check mode they are
    reported as V(create) without a server-side check.
  - In check mode, missing TLS files (not issued yet, because M(tidepool.eks.helm_tls_cert) only predicted them)
    are a warning, and the TLS Secrets are predicted without their content.
seealso:
  - module: tidepool.eks.github_deploy_key
  - module: tidepool.eks.helm_tls_cert
requirements:
  - cryptography >= 41
"""

EXAMPLES = r"""
- name: Tiller CA, server and helm-operator client certificates
  tidepool.eks.helm_tls_cert:
    cluster: test1
    region: us-west-2
    helm_home: /srv/flux-pki/test1/helm-operator
    copy_to_helm_home: false
    issue: [client, server]
    server_dest: /srv/flux-pki/test1/tiller

- name: Install Flux v1 pointed at the config repository
  tidepool.eks.flux_bootstrap:
    cluster: test1
    git_url: git@github.com:tidepool-org/cluster-test1.git
    git_email: admin@example.com
    tiller_tls_dir: /srv/flux-pki/test1/tiller
    helm_operator_tls_dir: /srv/flux-pki/test1/helm-operator/clusters/test1
  register: flux

- name: Let Flux read and write the config repository
  tidepool.eks.github_deploy_key:
    repository: tidepool-org/cluster-test1
    key: "{{ flux.deploy_key.public_key }}"
    title: flux key for test1

- name: Install Flux v2 from the components file the flux role fetched
  tidepool.eks.flux_bootstrap:
    cluster: test2
    flux_version: 2
    git_url: git@github.com:tidepool-org/cluster-test2.git
    git_email: admin@example.com
    components_path: ~/.cache/tidepool-eks/flux2/v2.9.4/install.yaml
  register: flux2

- name: Remove Flux but keep its deploy key for a reinstall
  tidepool.eks.flux_bootstrap:
    cluster: test1
    state: absent
    keep_deploy_key: true
"""

RETURN = r"""
deploy_key:
  description: The deploy key kept in the Secret (never the private key).
  returned: always
  type: dict
  contains:
    secret:
      description: C(<namespace>/<name>) of the Secret holding the key.
      type: str
      sample: flux/flux-git-deploy (flux-system/flux-system with flux_version 2)
    action:
      description: V(keep) (reused), V(create), V(rotate); with O(state=absent) V(keep) or V(delete).
      type: str
      sample: keep
    type:
      description: Key type, V(ed25519) or V(rsa).
      type: str
      returned: when state=present
      sample: ed25519
    public_key:
      description: OpenSSH public key line; null in check mode when a key would be generated.
      type: str
      returned: when state=present
      sample: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEx...
    fingerprint:
      description: SHA256 fingerprint as C(ssh-keygen -l) prints it.
      type: str
      returned: when state=present
      sample: SHA256:3x9Lw0J1Bz3...
    previous_public_key:
      description: The public key that was replaced, to remove it from the repository.
      type: str
      returned: when the key was rotated
      sample: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOld...
objects:
  description: Every object with the action taken or, in check mode, predicted (V(create), V(update), V(delete), V(none)).
  returned: always
  type: list
  elements: dict
  sample: [{kind: Deployment, namespace: flux, name: flux, action: none}]
git:
  description: Where Flux syncs from (the URL without credentials).
  returned: when state=present
  type: dict
  sample: {url: "git@github.com:tidepool-org/cluster-test1.git", branch: master, path: clusters/test1/flux, label: test1}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tidepool.eks.plugins.module_utils.common import runner
from ansible_collections.tidepool.eks.plugins.module_utils.crypto import ssh_keys
from ansible_collections.tidepool.eks.plugins.module_utils.gitops import bootstrap as flux_bootstrap
from ansible_collections.tidepool.eks.plugins.module_utils.gitops import registry
from ansible_collections.tidepool.eks.plugins.module_utils.k8s import apply as k8s_apply
from ansible_collections.tidepool.eks.plugins.module_utils.k8s import client as k8s_client
from ansible_collections.tidepool.eks.plugins.module_utils.k8s import options as k8s_options
from ansible_collections.tidepool.eks.plugins.module_utils.repository import credentials

CORE_OPTIONS = ("cluster", "flux_version", "state", "namespace", "git_url", "git_userinfo", "git_branch", "git_path", "git_label",
                "git_user", "git_email", "git_poll_interval", "sync_interval", "sync_garbage_collection", "images",
                "flux_extra_args", "tiller_tls_dir", "helm_operator_tls_dir", "components_path",
                "components_sha256", "known_hosts", "chart_mirror", "deploy_key_type", "deploy_key_bits",
                "rotate_deploy_key", "keep_deploy_key", "remove_crds", "wait", "wait_timeout")


def argument_spec() -> dict:
    return dict(
        k8s_options.argument_spec(),
        cluster=dict(type="str", required=True),
        flux_version=dict(type="int", choices=registry.versions(), default=registry.DEFAULT_VERSION),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        namespace=dict(type="str"),
        git_url=dict(type="str"),
        git_userinfo=dict(type="str", no_log=True),
        git_branch=dict(type="str", default="master"),
        git_path=dict(type="str"),
        git_label=dict(type="str"),
        git_user=dict(type="str", default="Flux"),
        git_email=dict(type="str"),
        git_poll_interval=dict(type="str", default="1m"),
        sync_interval=dict(type="str", default="1m"),
        sync_garbage_collection=dict(type="bool", default=True),
        images=dict(type="dict"),
        flux_extra_args=dict(type="list", elements="str"),
        tiller_tls_dir=dict(type="path"),
        helm_operator_tls_dir=dict(type="path"),
        components_path=dict(type="path"),
        components_sha256=dict(type="str"),
        known_hosts=dict(type="str"),
        chart_mirror=dict(type="str"),
        deploy_key_type=dict(type="str", choices=["ed25519", "rsa"], default="ed25519"),
        deploy_key_bits=dict(type="int", default=4096),
        rotate_deploy_key=dict(type="bool", default=False),
        keep_deploy_key=dict(type="bool", default=False),
        remove_crds=dict(type="bool", default=False),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=300),
    )


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True,
                           required_if=[("state", "present", ("git_url", "git_email"))])
    p = module.params
    # a token in git_url itself: masked wherever it would appear (the invocation's module_args included)
    given = credentials.split(p["git_url"] or "")
    if given.has_credentials:
        module.no_log_values.add(given.password or given.username)

    def work():
        spec = flux_bootstrap.normalize_params({k: p[k] for k in CORE_OPTIONS})
        applier = k8s_apply.Applier(k8s_client.connect(p["kubeconfig"], p["context"]).dynamic)
        return flux_bootstrap.run(spec, applier, module.check_mode)

    # unexpected errors: no traceback in the message, since locals hold key material
    runner.run(module, work, requires=(k8s_client, ssh_keys),
               errors=(flux_bootstrap.FluxBootstrapError, ssh_keys.SSHKeyError), unexpected="flux_bootstrap")


if __name__ == "__main__":
    main()
