# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Wait until Flux v2 has applied a commit of the config repository, then until every ExternalSecret's Secret exists.

What ``flux reconcile kustomization flux-system --with-source`` does, without the CLI:

1. when the Kustomization ``flux-system`` has not applied the commit yet, set the annotation
   ``reconcile.fluxcd.io/requestedAt`` on the GitRepository and the Kustomization (:func:`request_token`: the
   commit and the time), so the controllers fetch and apply now instead of at their next interval; a Kustomization
   at the commit already is left alone (nothing is written, the run stays ``changed=0``);
2. poll (:func:`kustomization_state`) until ``status.lastAppliedRevision`` is the commit; a failed apply of that
   commit (Ready False once the controller handled the request, or a GitRepository that cannot fetch) is one
   :class:`FluxWaitError` with Flux's own message (the Ready condition's);
2b. with the lockdown (:mod:`.tenancy`) the Kustomization ``flux-system`` applies only the others (one per
   environment, the shared services, each namespace's ExternalSecrets): poll (:func:`kustomizations_state`) until
   every Kustomization reading the GitRepository ``flux-system`` has applied the commit too; one that fails
   (e.g. ``forbidden``: an object outside its namespace) is a :class:`FluxWaitError` with its Ready message;
3. poll (:func:`secrets_state`) until the Secret each ExternalSecret writes exists. An ExternalSecret whose Secret is
   missing and whose last sync failed (Ready False: typically applied by Flux before its SecretStore, or before the
   store's IRSA role existed) is asked to sync again with ESO's own ``force-sync`` annotation (what ESO's docs give:
   ``kubectl annotate es <name> force-sync=$(date +%s) --overwrite``), at most once per poll, instead of waiting out
   the controller's back-off (after many failures at once, ESO's work queue retries about 10 a second);
4. with ``releases``, poll (:mod:`.release_health`) until every HelmRelease is Ready at its current spec and every
   Deployment / StatefulSet its releases installed is Available; a release helm-controller failed (install or upgrade
   failed, retries exhausted) is one :class:`FluxWaitError` with helm-controller's message, the first three named.

:class:`Waiter` runs one bounded poll of these phases over injected readers, so it is tested without a cluster;
``plugins/modules/flux_wait.py`` gives it the Kubernetes client and the role repeats the call (progress between
calls). Times in seconds.
"""
from __future__ import annotations

import time

from ansible_collections.tidepool.eks.plugins.module_utils.gitops.errors import FluxBootstrapError
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v2 import external_secrets, release_health

REQUESTED_AT = "reconcile.fluxcd.io/requestedAt"
#: ESO re-syncs an ExternalSecret when this annotation changes (docs/api/externalsecret.md of ESO v0.16).
FORCE_SYNC = "force-sync"
NAME = NAMESPACE = "flux-system"
SOURCE = ("source.toolkit.fluxcd.io/v1", "GitRepository")
KUSTOMIZATION = ("kustomize.toolkit.fluxcd.io/v1", "Kustomization")
EXTERNAL_SECRET = (external_secrets.API_VERSION, external_secrets.KIND)


class FluxWaitError(FluxBootstrapError):
    """Flux could not fetch or apply the commit; the message is Flux's own (Ready condition), with the object."""


def revision_sha(revision: str | None) -> str:
    """The commit of a Flux revision: ``master@sha1:<sha>`` (or ``<sha>``, ``master/<sha>``) -> ``<sha>``."""
    if not revision:
        return ""
    return revision.rsplit(":", 1)[-1].rsplit("/", 1)[-1].rsplit("@", 1)[-1]


def same_commit(revision: str | None, commit: str) -> bool:
    sha = revision_sha(revision)
    return bool(sha) and bool(commit) and (sha.startswith(commit) or commit.startswith(sha))


def request_token(commit: str, now: float) -> str:
    """The ``requestedAt`` value of a request for ``commit``: ``<RFC 3339 UTC time> <commit>``."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)) + f" {commit}"


def requested_for(obj: dict | None, commit: str) -> str | None:
    """The ``requestedAt`` annotation of ``obj`` when it was set for ``commit`` (by :func:`request_token`)."""
    value = (((obj or {}).get("metadata") or {}).get("annotations") or {}).get(REQUESTED_AT) or ""
    return value if value.endswith(f" {commit}") else None


def ready(obj: dict | None) -> dict:
    """The ``Ready`` condition of a Flux object (``{}`` when it has none yet)."""
    for cond in ((obj or {}).get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return cond
    return {}


def _handled(obj: dict, token: str | None) -> bool:
    status = obj.get("status") or {}
    current = status.get("observedGeneration") == (obj.get("metadata") or {}).get("generation")
    return current and token is not None and status.get("lastHandledReconcileAt") == token


def kustomization_state(kustomization: dict | None, source: dict | None, commit: str) -> tuple[str, str]:
    """``(state, text)``: ``applied`` (lastAppliedRevision is ``commit``), ``failed`` (Flux handled the request for
    ``commit`` and its Ready condition is False: Flux's message) or ``pending`` (what Flux says meanwhile)."""
    if kustomization is None:
        return "failed", f"Kustomization {NAMESPACE}/{NAME} does not exist (is Flux v2 installed? the flux step does it)"
    status = kustomization.get("status") or {}
    if same_commit(status.get("lastAppliedRevision"), commit):
        return "applied", status["lastAppliedRevision"]
    token = requested_for(kustomization, commit)
    src_ready = ready(source)
    if source is not None and src_ready.get("status") == "False" and _handled(source, requested_for(source, commit)):
        return "failed", f"GitRepository {NAMESPACE}/{NAME}: {src_ready.get('message', '').strip()}"
    k_ready = ready(kustomization)
    if k_ready.get("status") == "False" and _handled(kustomization, token) \
            and same_commit(status.get("lastAttemptedRevision"), commit):
        return "failed", f"Kustomization {NAMESPACE}/{NAME}: {k_ready.get('message', '').strip()}"
    text = k_ready.get("message") or src_ready.get("message") or "no status yet"
    return "pending", f"at {status.get('lastAppliedRevision') or 'no revision'}; {text.strip()}"


def secret_name(external_secret: dict) -> tuple[str, str]:
    """``(namespace, name)`` of the Secret an ExternalSecret writes (``spec.target.name``, else its own name)."""
    meta = external_secret["metadata"]
    target = ((external_secret.get("spec") or {}).get("target") or {}).get("name") or meta["name"]
    return meta.get("namespace", "default"), target


def absent(external_secrets: list, secret_exists) -> list:
    """The ExternalSecrets whose Secret does not exist; ``secret_exists(namespace, name) -> bool`` (one call each)."""
    return [es for es in external_secrets if not secret_exists(*secret_name(es))]


def missing_labels(without_secret: list) -> list[str]:
    """``<namespace>/<secret>`` of each ExternalSecret of ``without_secret`` (:func:`absent`), with its Ready message
    when it has one; sorted."""
    labels = []
    for es in without_secret:
        namespace, name = secret_name(es)
        message = ready(es).get("message")
        labels.append(f"{namespace}/{name}" + (f" ({message})" if message else ""))
    return sorted(labels)


def secrets_state(external_secrets: list, secret_exists) -> tuple[int, int, list[str]]:
    """``(present, total, missing)``: ``missing`` as :func:`missing_labels` gives it. ``secret_exists(namespace,
    name) -> bool``."""
    missing = missing_labels(absent(external_secrets, secret_exists))
    total = len(external_secrets)
    return total - len(missing), total, missing


class Waiter:
    """One bounded poll (``poll`` seconds) of the phases of the module docstring.

    ``get(api_version, kind, namespace, name) -> dict | None``; ``annotate(api_version, kind, namespace, name,
    key, value)``; ``list_external_secrets() -> list`` (None when the API is not served); ``secret_exists(ns,
    name) -> bool``. ``check_mode``: read only, no request. ``check_values(external_secrets) -> dict``
    (``secret_values.compare``), when given, runs once every Secret is present: its counts join the message and
    ``values`` of the result.
    """

    def __init__(self, get, annotate, list_external_secrets, secret_exists, *, check_mode=False,
                 clock=time.monotonic, now=time.time, sleep=time.sleep, interval=1.0, check_values=None,
                 list_kustomizations=None, list_releases=None, list_workloads=None):
        self.check_values = check_values
        # phase 4: () -> every HelmRelease (None when the kind is not served), () -> every Deployment and StatefulSet
        self.list_releases, self.list_workloads = list_releases, list_workloads
        self.list_kustomizations = list_kustomizations  # () -> every Kustomization (phase 2b); None: skipped
        self.get, self.annotate = get, annotate
        self.list_external_secrets, self.secret_exists = list_external_secrets, secret_exists
        self.check_mode, self.clock, self.now, self.sleep, self.interval = check_mode, clock, now, sleep, interval

    def _objects(self):
        return (self.get(*KUSTOMIZATION, NAMESPACE, NAME), self.get(*SOURCE, NAMESPACE, NAME))

    def request(self, commit: str, kustomization: dict | None, source: dict | None) -> bool:
        """Set ``requestedAt`` on both objects unless applied or requested for ``commit`` already; True when set."""
        if kustomization is None or check_applied(kustomization, commit) or self.check_mode:
            return False
        if requested_for(kustomization, commit) and requested_for(source, commit):
            return False
        token = request_token(commit, self.now())
        for api_version, kind in (SOURCE, KUSTOMIZATION):
            self.annotate(api_version, kind, NAMESPACE, NAME, REQUESTED_AT, token)
        return True

    def poll(self, commit: str, poll: float = 15.0, secrets: bool = True, releases: bool = False) -> dict:
        """Result: ``done`` (applied, every Secret present and, with ``releases``, every HelmRelease Ready and its
        workloads Available), ``phase`` (``apply`` / ``kustomizations`` / ``secrets`` / ``releases`` / ``done``),
        ``requested``, ``applied_revision``, ``secrets_present``, ``secrets_total``, ``missing``, ``msg``.
        Raises :class:`FluxWaitError` on a failed fetch or apply of ``commit``."""
        deadline = self.clock() + poll
        kustomization, source = self._objects()
        out = {"requested": self.request(commit, kustomization, source), "commit": commit, "done": False,
               "nudged": 0, "phase": "apply", "applied_revision": None, "secrets_present": 0, "secrets_total": 0, "missing": []}
        if kustomization is None and self.check_mode:  # check mode of a first install: the flux step only predicted it
            out["msg"] = (f"Flux v2 is not installed yet (check mode): a real run installs it and waits until Flux "
                          f"applies {commit[:12]}")
            return out
        while True:
            state, text = kustomization_state(kustomization, source, commit)
            if state == "failed":
                raise FluxWaitError(f"Flux did not apply {commit[:12]}: {text}")
            if state == "applied":
                out["applied_revision"] = text
                break
            if self.check_mode or self.clock() >= deadline:
                out["msg"] = f"Waiting for Flux to apply {commit[:12]}: {text}"
                return out
            self.sleep(self.interval)
            kustomization, source = self._objects()
        if self.list_kustomizations is not None:
            out["phase"] = "kustomizations"
            if not _kustomizations_poll(self, commit, deadline, out):
                return out
        out["phase"] = "secrets"
        nudged: set = set()
        while True:
            items = (self.list_external_secrets() if secrets else []) or []
            without = absent(items, self.secret_exists)  # each Secret read once per round
            missing = missing_labels(without)
            total = len(items)
            present = total - len(missing)
            out.update(secrets_present=present, secrets_total=total, missing=missing)
            if missing and not self.check_mode:
                out["nudged"] += self.nudge(without, nudged)
            if not missing:
                out["msg"] = f"Flux applied {out['applied_revision']}; {present} of {total} Secrets present"
                if self.check_values is not None:
                    out["values"] = values = self.check_values(items)
                    out["msg"] += values_text(values, total)
                if releases and self.list_releases is not None:
                    out["phase"] = "releases"
                    if not self._releases_poll(deadline, out):
                        return out
                out.update(done=True, phase="done")
                return out
            if self.check_mode or self.clock() >= deadline:
                out["msg"] = (f"Flux applied {out['applied_revision']}; {present} of {total} Secrets present, "
                              f"waiting for {', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}")
                return out
            self.sleep(self.interval)

    def _releases_poll(self, deadline: float, out: dict) -> bool:
        """Phase 4: True once every HelmRelease is Ready and its workloads Available (``out["releases_msg"]`` says so
        in one line); False at the deadline (``releases_msg``: what is awaited). Raises FluxWaitError on a failed
        release."""
        while True:
            listed = self.list_releases()
            if listed is None:  # helm-controller's API is not served: nothing to wait for
                out["releases_msg"] = "no HelmRelease API on the cluster"
                return True
            rel = release_health.releases_state(listed)
            work = release_health.workloads_state(release_health.release_workloads(listed, self.list_workloads()))
            out.update(releases_ready=len(rel["ready"]), releases_total=rel["total"],
                       workloads_available=work["available"], workloads_total=work["total"])
            line = release_health.summary(rel, work)
            if rel["failed"]:
                raise FluxWaitError(f"Flux applied {out['commit'][:12]} but {len(rel['failed'])} HelmRelease(s) "
                                    f"failed ({line}): " + "; ".join(rel["failed"][:3])
                                    + (" ..." if len(rel["failed"]) > 3 else ""))
            waiting = rel["pending"] + work["unavailable"]
            if not waiting:
                out["releases_msg"] = line
                return True
            out["releases_msg"] = f"{line}; waiting for {', '.join(waiting[:3])}{' ...' if len(waiting) > 3 else ''}"
            if self.check_mode or self.clock() >= deadline:
                out["msg"] += "; " + out["releases_msg"]
                return False
            self.sleep(self.interval)

    def nudge(self, without_secret: list, done: set) -> int:
        """Set ``force-sync`` on each ExternalSecret of ``without_secret`` (:func:`absent`) whose Ready condition is
        False, once per key of ``done`` (the ``(namespace, name)`` already nudged in this poll); the number set."""
        count = 0
        token = None
        for es in without_secret:
            meta = es["metadata"]
            key = (meta.get("namespace", "default"), meta["name"])
            if key in done or ready(es).get("status") != "False":
                continue
            token = token or f"{self.now():.0f}"
            self.annotate(*EXTERNAL_SECRET, key[0], key[1], FORCE_SYNC, token)
            done.add(key)
            count += 1
        return count


def values_text(values: dict, total: int) -> str:
    """The message's part on values: ``, N byte-equal to Secrets Manager`` and what differs or was not compared."""
    text = f", {len(values['equal'])} of {total} byte-equal to their values in Secrets Manager"
    if values["differ"]:
        text += (f"; {len(values['differ'])} differ (ESO syncs them at its refreshInterval, or now with the "
                 f"force-sync annotation): {', '.join(values['differ'][:5])}{' ...' if len(values['differ']) > 5 else ''}")
    if values["not_compared"]:
        text += f"; {len(values['not_compared'])} not compared (templated or not a plain key/property reference)"
    return text


def check_applied(kustomization: dict | None, commit: str) -> bool:
    """Whether the Kustomization's lastAppliedRevision is ``commit``."""
    return same_commit(((kustomization or {}).get("status") or {}).get("lastAppliedRevision"), commit)


# -- phase 2b: every Kustomization of the config repository (the multi-tenancy lockdown splits the tree) ------------

def _reads_config_repository(kustomization: dict) -> bool:
    meta, spec = kustomization.get("metadata") or {}, kustomization.get("spec") or {}
    ref = spec.get("sourceRef") or {}
    return (meta.get("name"), meta.get("namespace")) != (NAME, NAMESPACE) and ref.get("kind") == SOURCE[1] \
        and ref.get("name") == NAME and (ref.get("namespace") or meta.get("namespace")) == NAMESPACE


def kustomizations_state(kustomizations: list, commit: str) -> tuple[str, str]:
    """``(state, text)`` over the Kustomizations (other than ``flux-system``) that read the GitRepository
    ``flux-system``: ``applied`` (each one's lastAppliedRevision is ``commit``; text: how many), ``failed`` (one
    attempted ``commit`` at its current generation and is Ready False for another reason than waiting for a
    dependency: ``Kustomization <ns>/<name>: <Flux's message>``, each failed one, sorted) or ``pending`` (text: those
    not yet at ``commit`` and what Flux says of them)."""
    mine = [k for k in kustomizations if _reads_config_repository(k)]
    failed, pending = [], []
    for k in sorted(mine, key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"])):
        status, meta = k.get("status") or {}, k["metadata"]
        label = f"Kustomization {meta.get('namespace')}/{meta['name']}"
        if same_commit(status.get("lastAppliedRevision"), commit):
            continue
        cond = ready(k)
        current = status.get("observedGeneration") == meta.get("generation")
        if cond.get("status") == "False" and cond.get("reason") != "DependencyNotReady" and current \
                and same_commit(status.get("lastAttemptedRevision"), commit):
            failed.append(f"{label}: {(cond.get('message') or '').strip()}")
        else:
            pending.append(f"{label} ({(cond.get('message') or 'no status yet').strip()})")
    if failed:
        return "failed", "; ".join(failed)
    if pending:
        return "pending", f"{len(pending)} of {len(mine)} Kustomizations not at it yet: {', '.join(pending[:3])}" + \
            (" ..." if len(pending) > 3 else "")
    return "applied", f"{len(mine)} Kustomizations"


def _kustomizations_poll(waiter, commit: str, deadline: float, out: dict) -> bool:
    """Poll :func:`kustomizations_state` until applied (True; ``out['kustomizations']`` holds how many) or the
    deadline (False, ``out['msg']`` says what is awaited). Raises FluxWaitError on a failed one."""
    while True:
        state, text = kustomizations_state(waiter.list_kustomizations() or [], commit)
        if state == "failed":
            raise FluxWaitError(f"Flux did not apply {commit[:12]}: {text}")
        if state == "applied":
            out["kustomizations"] = text
            return True
        if waiter.check_mode or waiter.clock() >= deadline:
            out["msg"] = f"Flux applied {out['applied_revision']} (flux-system); {text}"
            return False
        waiter.sleep(waiter.interval)
