# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Core of tidepool.eks.flux_bootstrap: install the GitOps operator into a cluster, pointed at the config repo.

What ``eksctl install flux`` did in the install guide's ``make_flux`` (research ``tidepool-tools.md`` section
9.1), made idempotent and check-mode honest:

* :func:`normalize_params` validates the module options into a *spec* (plain dict): what is deployed;
* a *flavour* (:func:`gitops.registry.flavour`, interface :class:`gitops.flavour.Flavour`: ``1`` is
  :mod:`gitops.flux_v1`, ``2`` :mod:`gitops.flux_v2.bootstrap`) serialises the spec into Kubernetes objects and reads the TLS material it needs (Tiller
  TLS for Flux v1; none is required of a flavour that does not need it);
* :func:`resolve_deploy_key` keeps one deploy key per cluster in the flavour's Secret: generated once, reused on
  every later run, replaced only when ``rotate_deploy_key`` is set;
* :func:`run` plans every object with a server-side dry run, applies what differs (server-side apply, field
  manager ``tidepool.eks``) unless in check mode, waits, and returns a result without any private key.

Conventions: naming (namespace ``flux``, Flux path ``clusters/<cluster>/flux``, Secrets Manager ids of the Tiller
CA) come from :mod:`naming`.
"""
from __future__ import annotations

import base64
import re

from ansible_collections.tidepool.eks.plugins.module_utils.gitops import registry
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.errors import FluxBootstrapError
from ansible_collections.tidepool.eks.plugins.module_utils.k8s import apply as k8s_apply
from ansible_collections.tidepool.eks.plugins.module_utils.common import naming
from ansible_collections.tidepool.eks.plugins.module_utils.crypto import ssh_keys
from ansible_collections.tidepool.eks.plugins.module_utils.repository import credentials

#: Go duration (what fluxd's interval flags take), e.g. 1m, 30s, 1h30m.
DURATION_RE = re.compile(r"^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$")

DEFAULTS = {
    "git_branch": "master",
    "git_user": "Flux",
    "git_poll_interval": "1m",
    "sync_interval": "1m",
    "sync_garbage_collection": True,
    "deploy_key_type": "ed25519",
    "deploy_key_bits": ssh_keys.DEFAULT_RSA_BITS,
    "wait": True,
    "wait_timeout": 300,
}

MANAGED_BY = {"app.kubernetes.io/managed-by": "tidepool.eks", "app.kubernetes.io/part-of": "flux"}


def normalize_params(params: dict) -> dict:
    """Validate module options into the spec the flavours read. Raises FluxBootstrapError naming the option.

    Keys of the spec: ``cluster``, ``flux_version``, ``state``, ``namespace``, ``git_url`` (without credentials),
    ``git_username`` / ``git_password`` (those of an ``https://user:token@host/...`` URL or of the option
    ``git_userinfo``; None without), ``git_branch``,
    ``git_path``, ``git_label``, ``git_user``, ``git_email``, ``git_poll_interval``, ``sync_interval``
    (Go durations), ``sync_garbage_collection``, ``images`` (component -> image), ``flux_extra_args``,
    ``tiller_tls_dir``, ``helm_operator_tls_dir``, ``chart_mirror`` (flux_version 1: added to helm-operator's
    chart repositories), ``components_path``, ``components_sha256``, ``known_hosts``
    (flux_version 2), ``deploy_key_type``, ``deploy_key_bits``,
    ``rotate_deploy_key``, ``keep_deploy_key``, ``remove_crds``, ``wait``, ``wait_timeout`` (seconds), ``labels``;
    ``flavour``: the :class:`gitops.flavour.Flavour` of ``flux_version``, looked up here once for the whole run.
    """
    p = {k: v for k, v in params.items() if v is not None}
    spec = dict(DEFAULTS)
    spec.update(p)
    cluster = spec.get("cluster") or ""
    if not naming.CLUSTER_NAME_RE.match(cluster) or len(cluster) > naming.CLUSTER_NAME_MAX:
        raise FluxBootstrapError(f"cluster={cluster!r} is not a valid cluster name (a letter, then letters, digits "
                                 f"and hyphens, at most {naming.CLUSTER_NAME_MAX} characters).")
    flavour = registry.flavour(spec.get("flux_version", registry.DEFAULT_VERSION))
    version = flavour.VERSION
    if flavour.BOOTSTRAP_PLANNED:
        raise FluxBootstrapError(f"flux_version={version}: {flavour.BOOTSTRAP_PLANNED}.")
    spec["flux_version"] = version
    spec["flavour"] = flavour
    spec["state"] = spec.get("state", "present")
    ns = spec.setdefault("namespace", flavour.OPERATOR_NAMESPACE)
    if not flavour.RENDERS_OPERATOR_NAMESPACE and ns != flavour.OPERATOR_NAMESPACE:
        raise FluxBootstrapError(f"namespace={ns!r}: flux_version {version} installs into "
                                 f"{flavour.OPERATOR_NAMESPACE} (the namespace of its components file).")
    if not naming.is_dns_label(ns):
        raise FluxBootstrapError(f"namespace={ns!r} is not a valid Kubernetes namespace name (RFC 1123 label).")

    git_path = spec.get("git_path")
    if git_path is None:
        git_path = naming.flux_path(cluster)
    git_path = git_path.strip().strip("/")
    if git_path in ("", "."):
        raise FluxBootstrapError("git_path must name the cluster's Flux directory (default "
                                 f"{naming.flux_path(cluster)}), not the repository root: Flux would also apply the "
                                 "eksctl ClusterConfig and every other file of the config repository.")
    if ".." in git_path.split("/"):
        raise FluxBootstrapError(f"git_path={git_path!r} must stay inside the config repository (no '..').")
    spec["git_path"] = git_path
    _split_git_credentials(spec, flavour)
    spec["git_label"] = spec.get("git_label") or cluster
    for key in ("git_poll_interval", "sync_interval"):
        if not DURATION_RE.match(str(spec[key])):
            raise FluxBootstrapError(f"{key}={spec[key]!r} is not a duration such as 1m, 30s or 1h30m.")

    images = dict(flavour.DEFAULT_IMAGES)
    unknown = sorted(set(spec.get("images") or {}) - set(images))
    if unknown:
        has = ", ".join(sorted(images)) or "none (the images are those of its components file)"
        raise FluxBootstrapError(f"images: unknown component(s) {', '.join(unknown)}; flux_version {version} has "
                                 f"{has}.")
    images.update({k: v for k, v in (spec.get("images") or {}).items() if v})
    spec["images"] = images
    spec["flux_extra_args"] = list(spec.get("flux_extra_args") or [])
    for arg in spec["flux_extra_args"]:
        if not str(arg).startswith("--"):
            raise FluxBootstrapError(f"flux_extra_args: {arg!r} is not a flag (it must start with --).")

    if spec["deploy_key_type"] not in ssh_keys.KEY_TYPES:
        raise FluxBootstrapError(f"deploy_key_type={spec['deploy_key_type']!r}: use one of {', '.join(ssh_keys.KEY_TYPES)}.")
    if spec["deploy_key_type"] == "rsa" and int(spec["deploy_key_bits"]) < ssh_keys.MIN_RSA_BITS:
        raise FluxBootstrapError(f"deploy_key_bits={spec['deploy_key_bits']} is too small; use {ssh_keys.MIN_RSA_BITS} or more.")
    if int(spec["wait_timeout"]) <= 0:
        raise FluxBootstrapError("wait_timeout must be a positive number of seconds.")
    spec["wait_timeout"] = int(spec["wait_timeout"])

    if spec["state"] == "present":
        for key in ("git_url", "git_email") + flavour.BOOTSTRAP_REQUIRED:
            if not spec.get(key):
                raise FluxBootstrapError(f"{key} is required when state=present.")
    spec["labels"] = {**MANAGED_BY, "app.kubernetes.io/instance": cluster}
    for key in ("rotate_deploy_key", "keep_deploy_key", "remove_crds"):
        spec[key] = bool(spec.get(key, False))
    return spec


def _split_git_credentials(spec: dict, flavour) -> None:
    """Move the credentials of ``git_url`` (or of ``git_userinfo``, ``user:token`` percent-encoded as in a URL)
    into ``git_username`` / ``git_password``; ``git_url`` keeps the URL without them. Raises FluxBootstrapError
    (never showing the credentials) when they are given twice, for a URL that is not http(s), or to a flavour
    that would store them in the URL of an object."""
    remote = credentials.split(spec.get("git_url") or "")
    userinfo = spec.pop("git_userinfo", None) or ""
    if userinfo:
        if remote.has_credentials:
            raise FluxBootstrapError("git_userinfo is set and git_url carries credentials too; give them once.")
        if not re.match(r"^https?://", remote.public, re.I):
            raise FluxBootstrapError(f"git_userinfo is only for an http(s) git_url, not {remote.public!r} (SSH uses "
                                     "the deploy key).")
        remote = credentials.with_userinfo(remote.public, userinfo)
    if remote.has_credentials and not flavour.GIT_CREDENTIALS_IN_SECRET:
        raise FluxBootstrapError(f"git_url {remote.public} carries credentials: flux_version {flavour.VERSION} would "
                                 "store them in its Deployment's arguments. Point flux_git_url at the repository's "
                                 "SSH URL (Flux reads it with its deploy key).")
    if spec.get("git_url"):
        spec["git_url"] = remote.public
    spec["git_username"], spec["git_password"] = remote.username, remote.password


# --------------------------------------------------------------------------------------------- deploy key

def _secret_stub(namespace: str, name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": namespace}}


def resolve_deploy_key(spec: dict, live_secret: dict | None, data_key: str) -> tuple[bytes, dict]:
    """The deploy key to keep in the Secret: ``(private key bytes, info)``.

    Reuses the key in ``live_secret.data[data_key]`` unless ``rotate_deploy_key``; generates a new one when
    there is none. ``info`` holds ``action`` (``keep``, ``create``, ``rotate``), ``type``, ``public_key`` and
    ``fingerprint`` (SHA256, as ``ssh-keygen -l``), and on rotation ``previous_public_key`` (to remove it from the
    repository). Raises FluxBootstrapError when the stored value is not a
    usable key (without showing it).
    """
    stored = ((live_secret or {}).get("data") or {}).get(data_key)
    if stored and not spec["rotate_deploy_key"]:
        try:
            private = base64.b64decode(stored)
            key = ssh_keys.load_private(private)
        except (ValueError, ssh_keys.SSHKeyError):
            ns, name = live_secret["metadata"]["namespace"], live_secret["metadata"]["name"]
            raise FluxBootstrapError(f"Secret {ns}/{name} holds no usable private key under {data_key!r}; set "
                                     "rotate_deploy_key: true to replace it (then update the deploy key on the "
                                     "config repository).") from None
        public = ssh_keys.public_line(key)
        return private, {"action": "keep", "type": ssh_keys.key_type_of(key), "public_key": public,
                         "fingerprint": ssh_keys.fingerprint(public)}
    previous = None
    if stored:
        try:
            previous = ssh_keys.public_line(ssh_keys.load_private(base64.b64decode(stored)))
        except (ValueError, ssh_keys.SSHKeyError):
            previous = None
    private, public = ssh_keys.generate(spec["deploy_key_type"], spec["deploy_key_bits"])
    info = {"action": "rotate" if stored else "create", "type": spec["deploy_key_type"],
            "public_key": public, "fingerprint": ssh_keys.fingerprint(public)}
    if previous:
        info["previous_public_key"] = previous
    return private, info


# --------------------------------------------------------------------------------------------- run

def _summary(plan: dict) -> dict:
    meta = plan["object"]["metadata"]
    entry = {"kind": plan["object"]["kind"], "name": meta["name"], "action": plan["action"]}
    if meta.get("namespace"):
        entry["namespace"] = meta["namespace"]
    return entry


def _is_crd(obj: dict) -> bool:
    return obj["kind"] == "CustomResourceDefinition"


def _crd_established(applier, crd: dict):
    def check():
        live = applier.get(crd) or {}
        conds = {c.get("type"): c.get("status") for c in (live.get("status") or {}).get("conditions") or []}
        return conds.get("Established") == "True", f"Established={conds.get('Established', 'unknown')}"
    return check


def _deployment_available(applier, dep: dict):
    def check():
        live = applier.get(dep) or {}
        want = (live.get("spec") or {}).get("replicas", 1)
        status = live.get("status") or {}
        ready = status.get("availableReplicas", 0) or 0
        current = status.get("observedGeneration", 0) >= (live.get("metadata") or {}).get("generation", 1)
        return current and ready >= want, f"{ready} of {want} replicas available"
    return check


def _group_kind(obj: dict) -> tuple:
    return obj["apiVersion"].rpartition("/")[0], obj["kind"]


def _pending_kinds(applier, objects: list) -> set:
    """``(group, kind)`` of the custom resources whose CRD is among ``objects`` but not installed yet."""
    return {(o["spec"]["group"], o["spec"]["names"]["kind"]) for o in objects
            if _is_crd(o) and applier.get(o) is None}


def _wait_crds(spec: dict, applier, objects: list, sleep=None) -> None:
    kwargs = {"sleep": sleep} if sleep else {}
    for obj in objects:
        if _is_crd(obj):
            k8s_apply.wait_for(_crd_established(applier, obj), spec["wait_timeout"],
                               f"CustomResourceDefinition {obj['metadata']['name']} to be Established", **kwargs)


def wait_ready(spec: dict, applier, objects: list, sleep=None) -> None:
    """Wait for CustomResourceDefinitions to be Established (always: the API server does it alone), then, when
    ``spec.wait``, for each of the flavour's Deployments to have its replicas available. Raises
    k8s_client.KubeError with a message naming the object, the timeout and what to check."""
    kwargs = {"sleep": sleep} if sleep else {}
    _wait_crds(spec, applier, objects, sleep)
    if not spec["wait"]:
        return
    flavour = spec["flavour"]
    ns = spec["namespace"]
    for name, what in flavour.WORKLOADS:
        dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns}}
        k8s_apply.wait_for(_deployment_available(applier, dep), spec["wait_timeout"],
                           f"Deployment {ns}/{name} ({what}) to become available; check `kubectl -n {ns} get pods` "
                           "(on a cluster without nodes, such as the local stack, set wait: false)", **kwargs)


def run(spec: dict, applier, check_mode: bool, sleep=None) -> dict:
    """Plan and (unless ``check_mode``) apply. Returns ``{"changed", "objects", "deploy_key", "diff"}``;
    ``diff`` lists one before/after entry per changed object with Secret values hidden. ``deploy_key`` never
    carries the private key."""
    if spec["state"] == "absent":
        return _remove(spec, applier, check_mode)
    flavour = spec["flavour"]
    warnings = []
    try:
        tls = flavour.read_tls(spec)
    except FluxBootstrapError as exc:
        # In check mode helm_tls_cert predicts the certificates without writing them: predict the TLS objects too.
        if not (check_mode and exc.missing):
            raise
        tls = flavour.placeholder_tls()
        warnings.append(f"{exc} Check mode: the TLS Secrets are predicted without their content.")
    ns, secret_name, data_key = flavour.deploy_key_secret_ref(spec)
    live_key = applier.get(_secret_stub(ns, secret_name))
    private, key_info = resolve_deploy_key(spec, live_key, data_key)
    objects = flavour.bootstrap_objects(spec, private, tls)
    namespace_exists = applier.get({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}) is not None

    # Plan everything first (server-side dry runs), so an object the server refuses stops the run before any write.
    # Objects in a namespace that does not exist yet, or of a kind whose CRD is not installed yet, cannot be
    # dry-run; they are created after the namespace or the CRD.
    pending = _pending_kinds(applier, objects)
    plans = [applier.plan_apply(obj, skip_dry_run=(not namespace_exists and obj["metadata"].get("namespace") == ns)
                                or _group_kind(obj) in pending)
             for obj in objects]
    diff, crds_applied = [], []
    for plan in plans:
        if plan["action"] == "none":
            continue
        if not check_mode:
            if crds_applied and _group_kind(plan["object"]) in pending:
                _wait_crds(spec, applier, crds_applied, sleep)
                crds_applied = []
            plan["after"] = applier.apply(plan["object"])
            if _is_crd(plan["object"]):
                applier.invalidate()
                crds_applied.append(plan["object"])
        diff.append(k8s_apply.diff_entry(plan["before"], plan["after"]))
    if not check_mode:
        wait_ready(spec, applier, objects, sleep=sleep)

    deploy_key = {"secret": f"{ns}/{secret_name}", "action": key_info["action"], "type": key_info["type"],
                  "public_key": key_info["public_key"], "fingerprint": key_info["fingerprint"]}
    if key_info.get("previous_public_key"):
        deploy_key["previous_public_key"] = key_info["previous_public_key"]
    if check_mode and key_info["action"] != "keep":
        # The key a real run generates is another one: do not hand out a public key nobody will hold.
        deploy_key.update(public_key=None, fingerprint=None)
    return {"changed": any(p["action"] != "none" for p in plans),
            "objects": [_summary(p) for p in plans],
            "deploy_key": deploy_key,
            "git": {"url": spec["git_url"], "branch": spec["git_branch"], "path": spec["git_path"],
                    "label": spec["git_label"]},
            "warnings": warnings,
            "diff": diff}


def _remove(spec: dict, applier, check_mode: bool) -> dict:
    """state=absent: delete what :func:`run` creates, in reverse order. The CRDs stay unless ``remove_crds``
    (deleting one deletes every HelmRelease of the cluster); the deploy key Secret and the namespace stay when
    ``keep_deploy_key``."""
    flavour = spec["flavour"]
    ns, secret_name, _data_key = flavour.deploy_key_secret_ref(spec)
    identities = dict(spec, git_url=spec.get("git_url") or "", git_email=spec.get("git_email") or "")
    objects = flavour.bootstrap_objects(identities, b"", flavour.placeholder_tls())
    plans, diff = [], []
    for obj in reversed(objects):
        meta = obj["metadata"]
        if _is_crd(obj) and not spec["remove_crds"]:
            continue
        if spec["keep_deploy_key"] and ((obj["kind"] == "Secret" and meta["name"] == secret_name
                                         and meta.get("namespace") == ns)
                                        or (obj["kind"] == "Namespace" and meta["name"] == ns)):
            continue
        live = applier.get(obj)
        plan = {"object": obj, "action": "delete" if live else "none"}
        if live:
            diff.append(k8s_apply.diff_entry(live, None))
            if not check_mode:
                first = flavour.before_delete(obj)
                if first is not None:
                    applier.apply(first)
                applier.delete(obj)
        plans.append(plan)
    return {"changed": any(p["action"] != "none" for p in plans), "objects": [_summary(p) for p in plans],
            "warnings": [],
            "deploy_key": {"secret": f"{ns}/{secret_name}",
                           "action": "delete" if any(p["action"] == "delete" and p["object"]["kind"] == "Secret"
                                                     and p["object"]["metadata"]["name"] == secret_name
                                                     for p in plans) else "keep"},
            "diff": diff}
