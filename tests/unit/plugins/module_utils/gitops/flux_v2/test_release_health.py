"""The platform phase of the Flux v2 wait (gitops/flux_v2/release_health.py and Waiter phase 4): every HelmRelease
Ready at its current spec, the Deployments / StatefulSets of its release Available, helm-controller's message on
failure, one summary line."""
from __future__ import annotations

import pytest

from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v2 import release_health as rh
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v2 import wait

SHA = "55bdd856c1ecdefb0a652484df23db8355450dea"


def hr(ns, name, ready=None, reason="", message="", gen=2, observed=2, stalled=None, release_name=None, suspend=False):
    conds = []
    if ready is not None:
        conds.append({"type": "Ready", "status": ready, "reason": reason, "message": message})
    if stalled is not None:
        conds.append({"type": "Stalled", "status": "True", "reason": "RetriesExceeded", "message": stalled})
    spec = {"releaseName": release_name} if release_name else {}
    if suspend:
        spec["suspend"] = True
    return {"kind": "HelmRelease", "metadata": {"name": name, "namespace": ns, "generation": gen},
            "spec": spec, "status": {"observedGeneration": observed, "conditions": conds}}


def deploy(ns, name, release, *, kind="Deployment", replicas=1, ok=1, updated=None, gen=1, observed=1,
           release_ns=None):
    key = "availableReplicas" if kind == "Deployment" else "readyReplicas"
    return {"kind": kind, "metadata": {"name": name, "namespace": ns, "generation": gen, "annotations": {
        rh.RELEASE_NAME: release, rh.RELEASE_NAMESPACE: release_ns or ns}},
        "spec": {"replicas": replicas},
        "status": {"observedGeneration": observed, key: ok, "updatedReplicas": replicas if updated is None else updated}}


def test_ready_means_ready_at_the_current_spec():
    assert rh.release_state(hr("qa1", "tidepool", "True", "InstallSucceeded"))[0] == "ready"
    # Ready True of the previous spec: helm-controller has not handled the commit's spec yet
    assert rh.release_state(hr("qa1", "tidepool", "True", gen=3, observed=2))[0] == "pending"
    assert rh.release_state(hr("qa1", "tidepool", "False", "DependencyNotReady", "dependency gloo-system/gloo"))[0] \
        == "pending"
    assert rh.release_state(hr("qa1", "tidepool", "Unknown", "Progressing", "Running 'install'"))[0] == "pending"
    state, text = rh.release_state(hr("qa1", "tidepool", "False", "InstallFailed", "duplicate entries for key"))
    assert (state, text) == ("failed", "duplicate entries for key")
    state, text = rh.release_state(hr("qa1", "tidepool", "False", "Progressing", "x", stalled="retries exhausted"))
    assert (state, text) == ("failed", "retries exhausted")


def test_a_stalled_release_names_helms_own_error():
    # helm-controller v1.6.3 after a failed install with no retries: Stalled names no cause, Released has Helm's error
    stuck = hr("qa9", "tidepool", "False", "InstallFailed", "Failed to install after 1 attempt(s)",
               stalled="Failed to install after 1 attempt(s)")
    helm_error = "Helm install failed for release qa9/qa9-tidepool with chart tidepool@0.26.0: context deadline exceeded"
    stuck["status"]["conditions"].append({"type": "Released", "status": "False", "reason": "InstallFailed",
                                          "message": helm_error})
    assert rh.release_state(stuck) == ("failed", f"Failed to install after 1 attempt(s) ({helm_error})")
    # a Released condition that is True, or says nothing more, adds nothing
    stuck["status"]["conditions"][-1].update(status="True")
    assert rh.release_state(stuck) == ("failed", "Failed to install after 1 attempt(s)")
    stuck["status"]["conditions"][-1].update(status="False", message="Failed to install after 1 attempt(s)")
    assert rh.release_state(stuck) == ("failed", "Failed to install after 1 attempt(s)")


def test_release_identity_follows_helm_controller():
    assert rh.release_identity(hr("qa1", "tidepool", release_name="qa1-tidepool")) == ("qa1", "qa1-tidepool")
    assert rh.release_identity(hr("gloo-system", "gloo")) == ("gloo-system", "gloo")
    target = hr("flux-system", "app")
    target["spec"]["targetNamespace"] = "apps"
    assert rh.release_identity(target) == ("apps", "apps-app")


def test_workloads_are_those_of_the_releases_and_available_as_rollout_status_says():
    releases = [hr("qa1", "tidepool", "True", release_name="qa1-tidepool"), hr("reloader", "reloader", "True"),
                hr("off", "off", suspend=True)]
    loads = [deploy("qa1", "auth", "qa1-tidepool"), deploy("qa1", "blip", "qa1-tidepool", replicas=2, ok=1),
             deploy("qa1", "kafka", "qa1-tidepool", kind="StatefulSet", ok=1),
             deploy("reloader", "reloader-reloader", "reloader", gen=2, observed=1),
             deploy("qa1", "uploader", "qa1-tidepool", replicas=0, ok=0),
             deploy("other", "mine", "not-a-release"), deploy("off", "off", "off")]
    mine = rh.release_workloads(releases, loads)
    assert sorted(w["metadata"]["name"] for w in mine) == ["auth", "blip", "kafka", "reloader-reloader", "uploader"]
    state = rh.workloads_state(mine)
    assert state["available"] == 3 and state["total"] == 5
    assert state["unavailable"] == ["Deployment qa1/blip (1 of 2 replicas available)",
                                    "Deployment reloader/reloader-reloader (its controller has not observed the new spec)"]
    assert rh.summary(rh.releases_state(releases), state) == \
        "2 of 2 HelmReleases Ready, 3 of 5 Deployments / StatefulSets Available"


class Platform:
    """The Flux objects at SHA with every Secret present, and a platform that converges as ``step`` says."""

    def __init__(self, releases, loads, step=None):
        self.releases, self.loads, self.step, self.t = releases, loads, step, 0.0
        applied = {"status": {"lastAppliedRevision": f"master@sha1:{SHA}", "observedGeneration": 1,
                              "conditions": [{"type": "Ready", "status": "True"}]}, "metadata": {"generation": 1}}
        self.objs = {"Kustomization": applied, "GitRepository": applied}

    def waiter(self, served=True):
        def sleep(seconds):
            self.t += seconds
            if self.step:
                self.step(self)
        return wait.Waiter(lambda _a, kind, _n, _m: self.objs[kind], None, lambda: [], lambda ns, n: True,
                           clock=lambda: self.t, sleep=sleep,
                           list_releases=(lambda: self.releases) if served else (lambda: None),
                           list_workloads=lambda: self.loads)


def test_the_wait_ends_when_every_release_is_ready_and_its_workloads_available():
    def helm_controller(p):
        if p.t >= 3:
            p.releases[0] = hr("qa1", "tidepool", "True", "InstallSucceeded", release_name="qa1-tidepool")
            p.loads[0] = deploy("qa1", "auth", "qa1-tidepool")

    p = Platform([hr("qa1", "tidepool", "Unknown", "Progressing", "Running 'install'", release_name="qa1-tidepool")],
                 [deploy("qa1", "auth", "qa1-tidepool", ok=0)], step=helm_controller)
    first = p.waiter().poll(SHA, poll=2, releases=True)
    assert not first["done"] and first["phase"] == "releases"
    assert "0 of 1 HelmReleases Ready" in first["msg"] and "HelmRelease qa1/tidepool (Running 'install')" in first["msg"]
    out = p.waiter().poll(SHA, poll=10, releases=True)
    assert out["done"] and out["releases_msg"] == "1 of 1 HelmReleases Ready, 1 of 1 Deployments / StatefulSets Available"
    assert (out["releases_ready"], out["releases_total"], out["workloads_available"]) == (1, 1, 1)
    # without releases the wait ends at the Secrets, as before
    assert Platform([hr("qa1", "tidepool", "False", "InstallFailed", "x")], []).waiter().poll(SHA)["done"]


def test_a_failed_release_fails_the_wait_with_helm_controllers_message():
    p = Platform([hr("qa1", "tidepool", "False", "InstallFailed", "Helm install failed: duplicate entries for key"),
                  hr("reloader", "reloader", "True")], [])
    with pytest.raises(wait.FluxWaitError, match=r"1 HelmRelease\(s\) failed \(1 of 2 HelmReleases Ready.*"
                                                  r"HelmRelease qa1/tidepool: Helm install failed: duplicate"):
        p.waiter().poll(SHA, releases=True)


def test_a_cluster_without_the_helmrelease_api_has_nothing_to_wait_for():
    out = Platform([], []).waiter(served=False).poll(SHA, releases=True)
    assert out["done"] and out["releases_msg"] == "no HelmRelease API on the cluster"


def with_source(release, namespace, kind="HelmRepository", name="stakater"):
    release["spec"]["chart"] = {"spec": {"chart": "reloader", "sourceRef": {"kind": kind, "name": name,
                                                                             "namespace": namespace}}}
    return release


def test_a_chart_source_in_another_namespace_fails_the_wait_at_once_with_the_lockdown_s_reason():
    """helm-controller v1.6.3 logs this refusal only (no condition): the wait must not run into its timeout."""
    lone = with_source(hr("qa1", "by-hand", gen=1, observed=None), "reloader")
    lone["status"] = {}
    state, text = rh.release_state(lone)
    assert state == "failed"
    assert text.startswith("its chart source HelmRepository reloader/stakater is in another namespace")
    assert "cannot access HelmChart reloader/qa1-by-hand" in text and "--no-cross-namespace-refs=true" in text
    p = Platform([lone, hr("reloader", "reloader", "True")], [])
    with pytest.raises(wait.FluxWaitError, match=r"HelmRelease qa1/by-hand: its chart source HelmRepository "
                                                  r"reloader/stakater is in another namespace"):
        p.waiter().poll(SHA, releases=True)
    # its own namespace, or no namespace (helm-controller's default: the release's), is no refusal
    assert rh.release_state(with_source(hr("qa1", "t", "Unknown", "Progressing"), "qa1"))[0] == "pending"
    unnamed = with_source(hr("qa1", "t", "Unknown", "Progressing"), None)
    assert rh.release_state(unnamed)[0] == "pending"
    # Ready at its current spec stays ready (a controller that allows the reference installed it)
    assert rh.release_state(with_source(hr("qa1", "t", "True", "InstallSucceeded"), "reloader"))[0] == "ready"
