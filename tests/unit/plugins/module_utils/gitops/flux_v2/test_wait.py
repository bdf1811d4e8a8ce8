"""The wait for Flux v2's apply of a commit and for the ExternalSecrets' Secrets (gitops/flux_v2/wait.py), over
in-memory objects: the reconcile request only when needed, Flux's own message on failure, the Secrets count."""
from __future__ import annotations

import pytest

from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v2 import wait

SHA = "55bdd856c1ecdefb0a652484df23db8355450dea"
OLD = "792fa096cb4f4f45b7d3d03619d4954c4ac0d446"


def flux_obj(kind, applied=None, ready=None, message="", attempted=None, handled=None, annotation=None, gen=1):
    status = {"observedGeneration": gen, "conditions": []}
    if applied:
        status["lastAppliedRevision"] = f"master@sha1:{applied}"
    if attempted:
        status["lastAttemptedRevision"] = f"master@sha1:{attempted}"
    if handled:
        status["lastHandledReconcileAt"] = handled
    if ready is not None:
        status["conditions"].append({"type": "Ready", "status": ready, "message": message})
    meta = {"name": "flux-system", "namespace": "flux-system", "generation": 1}
    if annotation:
        meta["annotations"] = {wait.REQUESTED_AT: annotation}
    return {"kind": kind, "metadata": meta, "status": status}


class Cluster:
    """Objects by kind; annotate records the calls; `step` is called on every read (the controllers' work)."""

    def __init__(self, kustomization, source, external_secrets=(), secrets=(), step=None):
        self.objs = {"Kustomization": kustomization, "GitRepository": source}
        self.external_secrets, self.secrets = list(external_secrets), set(secrets)
        self.annotations, self.step, self.t = [], step, 0.0

    def get(self, _api, kind, _ns, _name):
        if self.step:
            self.step(self)
        return self.objs[kind]

    def annotate(self, _api, kind, ns, name, key, value):
        if kind == "ExternalSecret":
            self.annotations.append((kind, f"{ns}/{name}", key, value))
            obj = next(e for e in self.external_secrets if (e["metadata"]["namespace"], e["metadata"]["name"]) == (ns, name))
            obj["metadata"].setdefault("annotations", {})[key] = value
            return
        self.annotations.append((kind, key, value))
        self.objs[kind].setdefault("metadata", {}).setdefault("annotations", {})[key] = value

    def waiter(self, check_mode=False):
        def sleep(seconds):
            self.t += seconds
        return wait.Waiter(self.get, self.annotate, lambda: self.external_secrets,
                           lambda ns, name: (ns, name) in self.secrets, check_mode=check_mode,
                           clock=lambda: self.t, now=lambda: 1764528000.0, sleep=sleep)


def es(ns, name, target=None, message=None):
    obj = {"metadata": {"name": name, "namespace": ns}, "spec": {"target": {"name": target}} if target else {}}
    if message:
        obj["status"] = {"conditions": [{"type": "Ready", "status": "False", "message": message}]}
    return obj


def test_revision_forms():
    assert wait.revision_sha(f"master@sha1:{SHA}") == SHA
    assert wait.revision_sha(f"master/{SHA}") == SHA
    assert wait.same_commit(f"master@sha1:{SHA}", SHA[:12])
    assert not wait.same_commit(f"master@sha1:{OLD}", SHA)
    assert not wait.same_commit(None, SHA)


def test_applied_already_writes_nothing_and_counts_the_secrets():
    cluster = Cluster(flux_obj("Kustomization", applied=SHA, ready="True"), flux_obj("GitRepository", ready="True"),
                      [es("qa1", "auth"), es("qa1", "blob", target="blob-secret")],
                      {("qa1", "auth"), ("qa1", "blob-secret")})
    out = cluster.waiter().poll(SHA)
    assert cluster.annotations == []  # the second run of make local: no requestedAt, changed=0
    assert out["requested"] is False and out["done"] is True
    assert out["msg"] == f"Flux applied master@sha1:{SHA}; 2 of 2 Secrets present"


def test_requests_the_reconcile_once_then_waits_for_the_revision():
    def controllers(cluster):
        k = cluster.objs["Kustomization"]
        if cluster.annotations and cluster.t >= 2:  # the controllers apply 2 s after the request
            k["status"]["lastAppliedRevision"] = f"master@sha1:{SHA}"

    cluster = Cluster(flux_obj("Kustomization", applied=OLD, ready="True"), flux_obj("GitRepository", ready="True"),
                      step=controllers)
    out = cluster.waiter().poll(SHA, poll=10)
    assert [a[0] for a in cluster.annotations] == ["GitRepository", "Kustomization"]
    token = cluster.annotations[0][2]
    assert token == f"2025-11-30T18:40:00Z {SHA}" and cluster.annotations[1][2] == token
    assert out["requested"] and out["done"] and out["applied_revision"] == f"master@sha1:{SHA}"
    assert out["secrets_total"] == 0


def test_a_second_call_for_the_same_commit_does_not_request_again():
    token = f"2025-11-30T18:40:00Z {SHA}"
    cluster = Cluster(flux_obj("Kustomization", applied=OLD, ready="Unknown", annotation=token),
                      flux_obj("GitRepository", ready="True", annotation=token))
    out = cluster.waiter().poll(SHA, poll=3)
    assert cluster.annotations == [] and out["requested"] is False
    assert out["done"] is False and out["phase"] == "apply"
    assert out["msg"].startswith(f"Waiting for Flux to apply {SHA[:12]}: at master@sha1:{OLD}")


def test_a_failed_apply_is_one_error_with_fluxs_message():
    token = f"2025-11-30T18:40:00Z {SHA}"
    message = 'kustomize build failed: map[string]interface {}(nil): yaml: unmarshal errors'
    cluster = Cluster(flux_obj("Kustomization", applied=OLD, attempted=SHA, ready="False", message=message,
                               handled=token, annotation=token),
                      flux_obj("GitRepository", ready="True", annotation=token, handled=token))
    with pytest.raises(wait.FluxWaitError) as err:
        cluster.waiter().poll(SHA)
    assert str(err.value) == f"Flux did not apply {SHA[:12]}: Kustomization flux-system/flux-system: {message}"


def test_a_failure_of_an_older_attempt_is_not_taken_for_this_commit():
    token = f"2025-11-30T18:40:00Z {SHA}"
    cluster = Cluster(flux_obj("Kustomization", applied=OLD, attempted=OLD, ready="False", message="old failure",
                               handled=token, annotation=token),
                      flux_obj("GitRepository", ready="True", annotation=token))
    out = cluster.waiter().poll(SHA, poll=2)
    assert out["done"] is False and "old failure" in out["msg"]


def test_a_source_that_cannot_fetch_is_reported_with_its_message():
    token = f"2025-11-30T18:40:00Z {SHA}"
    cluster = Cluster(flux_obj("Kustomization", applied=OLD, ready="True", annotation=token),
                      flux_obj("GitRepository", ready="False", message="failed to checkout: authentication required",
                               handled=token, annotation=token))
    with pytest.raises(wait.FluxWaitError, match="GitRepository flux-system/flux-system: failed to checkout"):
        cluster.waiter().poll(SHA)


def test_missing_kustomization_names_the_flux_step():
    cluster = Cluster(None, None)
    with pytest.raises(wait.FluxWaitError, match="does not exist"):
        cluster.waiter().poll(SHA)


def test_missing_secrets_are_named_with_the_external_secrets_message():
    cluster = Cluster(flux_obj("Kustomization", applied=SHA, ready="True"), flux_obj("GitRepository", ready="True"),
                      [es("qa1", "auth"), es("qa1", "blob", message="could not get secret data from provider")],
                      {("qa1", "auth")})
    out = cluster.waiter().poll(SHA, poll=2)
    assert out["done"] is False and out["phase"] == "secrets"
    assert (out["secrets_present"], out["secrets_total"]) == (1, 2)
    assert out["missing"] == ["qa1/blob (could not get secret data from provider)"]
    assert "1 of 2 Secrets present, waiting for qa1/blob" in out["msg"]


def test_a_failed_external_secret_is_nudged_once_per_poll_with_force_sync():
    # Flux applied the ExternalSecret before its SecretStore: ESO failed it (Ready False) and backs off; the wait asks
    # ESO to sync it again (force-sync), once per poll; one ESO has not looked at yet (no status) is left alone
    failed = es("qa1", "blob", message='could not get SecretStore "aws-secrets-manager"')
    cluster = Cluster(flux_obj("Kustomization", applied=SHA, ready="True"), flux_obj("GitRepository", ready="True"),
                      [es("qa1", "auth"), failed, es("qa2", "auth")], {("qa1", "auth")})
    out = cluster.waiter().poll(SHA, poll=3)
    assert cluster.annotations == [("ExternalSecret", "qa1/blob", wait.FORCE_SYNC, "1764528000")]
    assert out["nudged"] == 1 and out["done"] is False
    assert failed["metadata"]["annotations"] == {wait.FORCE_SYNC: "1764528000"}
    cluster.waiter().poll(SHA, poll=3)  # the next poll nudges again (ESO may have failed again meanwhile)
    assert len(cluster.annotations) == 2


def test_the_nudged_external_secret_syncs_and_the_wait_ends():
    failed = es("qa1", "blob", message="SecretStore is not ready")

    def eso(cluster):  # ESO writes the Secret once the ExternalSecret carries force-sync
        if wait.FORCE_SYNC in failed["metadata"].get("annotations", {}):
            cluster.secrets.add(("qa1", "blob"))
    cluster = Cluster(flux_obj("Kustomization", applied=SHA, ready="True"), flux_obj("GitRepository", ready="True"),
                      [failed], step=eso)
    cluster.secret_exists = lambda ns, name: (eso(cluster), (ns, name) in cluster.secrets)[1]
    waiter = wait.Waiter(cluster.get, cluster.annotate, lambda: cluster.external_secrets, cluster.secret_exists,
                         clock=lambda: cluster.t, now=lambda: 1764528000.0, sleep=lambda s: None)
    out = waiter.poll(SHA, poll=5)
    assert out["done"] is True and out["nudged"] == 1 and out["msg"].endswith("1 of 1 Secrets present")


def test_check_mode_does_not_nudge():
    cluster = Cluster(flux_obj("Kustomization", applied=SHA, ready="True"), flux_obj("GitRepository", ready="True"),
                      [es("qa1", "blob", message="failed")])
    out = cluster.waiter(check_mode=True).poll(SHA)
    assert cluster.annotations == [] and out["nudged"] == 0


def test_check_mode_reads_only():
    cluster = Cluster(flux_obj("Kustomization", applied=OLD, ready="True"), flux_obj("GitRepository", ready="True"))
    out = cluster.waiter(check_mode=True).poll(SHA)
    assert cluster.annotations == [] and out["done"] is False and cluster.t == 0


def test_check_mode_before_the_first_install_predicts_instead_of_failing():
    # site.yml / migrate_flux_v2.yml --check on a cluster without Flux v2: the flux step only predicted the install
    out = Cluster(None, None).waiter(check_mode=True).poll(SHA)
    assert out["done"] is False and "not installed yet (check mode)" in out["msg"]


def test_each_secret_is_read_once_per_round_nudge_included():
    failed = es("qa1", "blob", message="SecretStore is not ready")
    cluster = Cluster(flux_obj("Kustomization", applied=SHA, ready="True"), flux_obj("GitRepository", ready="True"),
                      [es("qa1", "auth"), failed], {("qa1", "auth")})
    reads = []
    waiter = wait.Waiter(cluster.get, cluster.annotate, lambda: cluster.external_secrets,
                         lambda ns, name: reads.append((ns, name)) or (ns, name) in cluster.secrets,
                         clock=lambda: cluster.t, now=lambda: 1764528000.0)
    out = waiter.poll(SHA, poll=0)
    assert out["nudged"] == 1 and sorted(reads) == [("qa1", "auth"), ("qa1", "blob")]


# -- every Kustomization of the config repository (the multi-tenancy lockdown: one per environment, ...) -----------

def tenant(name, applied=None, attempted=None, ready=None, message="", reason=None, gen=1, observed=1, source=None):
    obj = flux_obj("Kustomization", applied=applied, attempted=attempted, ready=ready, message=message, gen=observed)
    obj["metadata"] = {"name": name, "namespace": "flux-system", "generation": gen}
    obj["spec"] = {"sourceRef": source or {"kind": "GitRepository", "name": "flux-system"}}
    if reason:
        obj["status"]["conditions"][0]["reason"] = reason
    return obj


def tenancy_waiter(cluster, kustomizations):
    waiter = cluster.waiter()
    waiter.list_kustomizations = lambda: kustomizations
    return waiter


def test_every_kustomization_of_the_config_repository_is_waited_for():
    applied = Cluster(flux_obj("Kustomization", applied=SHA, ready="True"), flux_obj("GitRepository", ready="True"))
    others = [tenant("environment-qa1", applied=SHA, ready="True"), tenant("shared-services", applied=SHA, ready="True"),
              tenant("elsewhere", applied=OLD, source={"kind": "GitRepository", "name": "other"})]
    out = tenancy_waiter(applied, others).poll(SHA)
    assert out["done"] and out["kustomizations"] == "2 Kustomizations"
    lagging = [tenant("environment-qa1", applied=OLD, ready="Unknown", message="reconciliation in progress")]
    out = tenancy_waiter(applied, lagging).poll(SHA, poll=2)
    assert not out["done"] and out["phase"] == "kustomizations"
    assert "1 of 1 Kustomizations not at it yet: Kustomization flux-system/environment-qa1 (reconciliation in " \
           "progress)" in out["msg"]


def test_an_environment_s_refused_object_fails_the_wait_with_fluxs_message():
    message = ('ConfigMap/kube-system/x dry-run failed (Forbidden): configmaps "x" is forbidden: User '
               '"system:serviceaccount:flux-system:environment-qa1" cannot patch resource "configmaps" in the '
               'namespace "kube-system"')
    cluster = Cluster(flux_obj("Kustomization", applied=SHA, ready="True"), flux_obj("GitRepository", ready="True"))
    ks = [tenant("environment-qa1", applied=OLD, attempted=SHA, ready="False", message=message,
                 reason="ReconciliationFailed"),
          tenant("external-secrets-qa1", applied=OLD, ready="False", message="dependency not ready",
                 reason="DependencyNotReady")]
    with pytest.raises(wait.FluxWaitError) as err:
        tenancy_waiter(cluster, ks).poll(SHA)
    assert str(err.value) == f"Flux did not apply {SHA[:12]}: Kustomization flux-system/environment-qa1: {message}"


def test_a_failure_of_an_older_commit_or_generation_or_a_dependency_is_not_this_commit_s():
    cluster = Cluster(flux_obj("Kustomization", applied=SHA, ready="True"), flux_obj("GitRepository", ready="True"))
    for k in (tenant("a", applied=OLD, attempted=OLD, ready="False", message="old", reason="ReconciliationFailed"),
              tenant("b", applied=OLD, attempted=SHA, ready="False", message="stale", gen=2, observed=1),
              tenant("c", applied=OLD, attempted=SHA, ready="False", message="waits", reason="DependencyNotReady")):
        out = tenancy_waiter(cluster, [k]).poll(SHA, poll=1)
        assert out["done"] is False and out["phase"] == "kustomizations", k["metadata"]["name"]
