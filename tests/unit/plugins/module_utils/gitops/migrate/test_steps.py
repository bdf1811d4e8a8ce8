"""Unit tests of the Flux v1 -> v2 migration steps (gitops/migrate/) against an in-memory cluster that has the
garbage collector's rules and a stand-in for the External Secrets Operator's Owner adoption."""
from __future__ import annotations

import base64
import copy

import pytest

from ansible_collections.tidepool.eks.plugins.module_utils.crypto import ssh_keys
from ansible_collections.tidepool.eks.plugins.module_utils.gitops import bootstrap
from ansible_collections.tidepool.eks.plugins.module_utils.gitops import registry
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.migrate import releases, secrets, state, steps, tiller
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.migrate.errors import MigrationError
from ansible_collections.tidepool.eks.plugins.module_utils.k8s.client import KubeError

from .fake_kube import FakeKube

PARAMS = {"cluster": "unit1", "namespace": "flux", "helm2_converted": False, "keep_namespace": False,
          "remove_crds": True, "wait_timeout": 5}
ENVS = ("qa1", "qa2")


def b64(text):
    return base64.b64encode(text.encode()).decode()


def crd(name):
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": name}}


@pytest.fixture
def private_key():
    return ssh_keys.generate("ed25519", 0)[0]


def add_kes_secret(kube: FakeKube, env: str, name: str, key: str = "value"):
    """A KES ExternalSecret and the Secret it wrote (owner reference, controller: true), value ``<env>-<name>-secret``."""
    es = kube.add({"apiVersion": "kubernetes-client.io/v1", "kind": "ExternalSecret",
                   "metadata": {"name": name, "namespace": env}, "spec": {}})
    kube.add({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
              "metadata": {"name": name, "namespace": env, "ownerReferences": [{
                  "apiVersion": "kubernetes-client.io/v1", "kind": "ExternalSecret", "name": name,
                  "uid": es["metadata"]["uid"], "controller": True}]},
              "data": {key: b64(f"{env}-{name}-secret")}})


def flavour1_cluster(private_key) -> FakeKube:
    """What a flavour-1 converge leaves: the Flux v1 install, v1 HelmReleases, KES ExternalSecrets and the Secrets
    KES wrote (owner reference, controller: true)."""
    kube = FakeKube()
    spec = bootstrap.normalize_params({"cluster": "unit1", "flux_version": 1, "state": "absent", "namespace": "flux",
                                       "wait": False})
    spec = dict(spec, git_url="git@github.com:o/r.git", git_email="a@example.com")
    flavour = registry.flavour(1)
    for obj in flavour.bootstrap_objects(spec, private_key, flavour.placeholder_tls()):
        if obj["kind"] == "Deployment":
            obj["spec"]["replicas"] = 1
            obj["status"] = {"replicas": 1}
        kube.add(obj)
    kube.add(crd("externalsecrets.kubernetes-client.io"))
    for env in ENVS:
        kube.add({"apiVersion": "helm.fluxcd.io/v1", "kind": "HelmRelease",
                  "metadata": {"name": "tidepool", "namespace": env}, "spec": {"releaseName": f"{env}-tidepool"}})
        for name in ("auth", "blob"):
            add_kes_secret(kube, env, name)
    kube.add({"apiVersion": "helm.fluxcd.io/v1", "kind": "HelmRelease",
              "metadata": {"name": "gloo", "namespace": "gloo-system"}, "spec": {"releaseName": "gloo"}})
    return kube


def add_flavour2(kube: FakeKube):
    """What Flux v2 applies from the pushed tree: v2 HelmReleases (same release names) and ESO ExternalSecrets."""
    kube.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "flux-system"}})
    for env in ENVS:
        kube.add({"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
                  "metadata": {"name": "tidepool", "namespace": env}, "spec": {"releaseName": f"{env}-tidepool"}})
        for name in ("auth", "blob"):
            kube.add(registry.flavour(2).secret_manifest({"name": name, "namespace": env}, f"unit1/{env}/{name}",
                                                         ["value"]))
    kube.add({"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
              "metadata": {"name": "gloo", "namespace": "gloo-system"}, "spec": {"releaseName": "gloo"}})


def eso_reconcile(kube: FakeKube, watched_only=True):
    """ESO v0.16.2's Owner policy on an existing Secret: fails while another controller owns it; else sets itself
    as controller, its labels, and Ready. With ``watched_only`` it reacts only to Secrets with its managed label
    (its Secret watch) or ones it creates."""
    for es in kube.list(*secrets.eso_kind().values()):
        live_es = kube.store[kube.key(es)]
        target = secrets.target_of(es)
        secret = kube.store.get(kube.key(target))
        if watched_only and secret is not None and not (secret["metadata"].get("labels") or {}).get(
                secrets.MANAGED_LABEL):
            continue
        if secret is None:
            secret = kube.add(dict(target, data={"value": "regenerated"}))
            secret = kube.store[kube.key(target)]
        ctrl = secrets.controller_of(secret)
        if ctrl and ctrl["kind"] != "ExternalSecret" or (ctrl and not ctrl["apiVersion"].startswith("external-secrets")):
            live_es["status"] = {"conditions": [{"type": "Ready", "status": "False",
                                                 "message": "failed to take ownership of target secret"}]}
            continue
        secret["metadata"]["ownerReferences"] = [{"apiVersion": es["apiVersion"], "kind": es["kind"],
                                                  "name": es["metadata"]["name"], "uid": live_es["metadata"]["uid"],
                                                  "controller": True}]
        secret["metadata"].setdefault("labels", {})[secrets.MANAGED_LABEL] = "true"
        live_es["status"] = {"conditions": [{"type": "Ready", "status": "True"}]}


def secret_values(kube):
    return {(ns, n): o.get("data") for (k, ns, n), o in kube.store.items()
            if k == "Secret" and ns in ENVS}


# ------------------------------------------------------------------------------------------ tiller (step 1)

def cm(name, version, owner="TILLER"):
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": f"{name}.v{version}", "namespace": "flux",
                         "labels": {"OWNER": owner, "NAME": name, "VERSION": str(version)}}}


def test_tiller_records_without_helm3_record_stop_the_migration_naming_each_release():
    records = [cm("qa1-tidepool", 2), cm("qa1-tidepool", 10), cm("gloo", 1)]
    with pytest.raises(MigrationError) as err:
        tiller.check(records, [], "flux")
    msg = str(err.value)
    assert "gloo, qa1-tidepool" in msg
    assert "helm 2to3 convert gloo --tiller-ns flux" in msg and "helm 2to3 convert qa1-tidepool --tiller-ns flux" in msg
    assert "Nothing was changed" in msg
    assert tiller.releases(records)["qa1-tidepool"] == ["2", "10"]


def test_tiller_records_with_helm3_records_or_declared_converted_pass():
    records = [cm("gloo", 1)]
    helm3 = [{"metadata": {"name": "sh.helm.release.v1.gloo.v1", "labels": {"owner": "helm", "name": "gloo"}}}]
    assert tiller.check(records, helm3, "flux")["unconverted"] == []
    assert tiller.check(records, [], "flux", converted=True)["converted_by_operator"]


def test_preflight_reads_only_and_stops_on_tiller_records(private_key):
    kube = flavour1_cluster(private_key)
    kube.add(cm("qa1-tidepool", 1))
    before = copy.deepcopy(kube.store)
    with pytest.raises(MigrationError, match="qa1-tidepool"):
        steps.run("preflight", kube, PARAMS, check_mode=False)
    res = steps.run("preflight", kube, dict(PARAMS, helm2_converted=True), check_mode=False)
    assert res["phase"] == "flavour1" and res["warnings"]
    assert res["counts"] == {"helmreleases_v1": 3, "helmreleases_v2": 0, "external_secrets_kes": 4,
                             "external_secrets_eso": 0}
    assert res["deploy_key_v1"]["public_key"] == ssh_keys.public_line(ssh_keys.load_private(private_key))
    assert kube.store == before and kube.writes == []


def test_phase_of_a_cluster_running_neither_flavour_is_an_error():
    with pytest.raises(MigrationError, match="runs neither flavour"):
        steps.run("preflight", FakeKube(), PARAMS, check_mode=False)
    kube = FakeKube()
    kube.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "flux-system"}})
    assert steps.run("preflight", kube, PARAMS, check_mode=False)["phase"] == "done"


# ------------------------------------------------------------------------------------------ stop / resume (step 2)

def test_stop_scales_flux_and_helm_operator_to_zero_once_and_resume_brings_them_back(private_key):
    kube = flavour1_cluster(private_key)
    checked = steps.run("stop", kube, PARAMS, check_mode=True)
    assert checked["changed"] and kube.writes == [] and len(checked["diff"]) == 2

    def pods_go(_s):
        for name in ("flux", "flux-helm-operator"):
            kube.store[("Deployment", "flux", name)]["status"]["replicas"] = 0
    res = steps.scale(kube, PARAMS, False, 0, "stop", sleep=pods_go)
    assert res["changed"]
    assert {n: kube.store[("Deployment", "flux", n)]["spec"]["replicas"] for n in ("flux", "flux-helm-operator")} == {
        "flux": 0, "flux-helm-operator": 0}
    assert kube.store[("Deployment", "flux", "memcached")]["spec"]["replicas"] == 1  # left alone
    n = len(kube.writes)
    assert not steps.run("stop", kube, PARAMS, check_mode=False)["changed"] and len(kube.writes) == n
    assert steps.run("resume", kube, PARAMS, check_mode=False)["changed"]
    assert kube.store[("Deployment", "flux", "flux")]["spec"]["replicas"] == 1


def test_stop_times_out_naming_the_deployment_whose_pods_keep_running(private_key):
    kube = flavour1_cluster(private_key)
    with pytest.raises(KubeError, match="flux/flux .*run no pod"):
        steps.scale(kube, dict(PARAMS, wait_timeout=0), False, 0, "stop", sleep=lambda _s: None)


# ------------------------------------------------------------------------------------------ secrets (step 5)

def test_background_deletion_of_a_kes_external_secret_deletes_its_secret_in_the_fake(private_key):
    """The gap the migration must not open, shown on the stand-in the other tests rely on."""
    kube = flavour1_cluster(private_key)
    kube.delete_with({"apiVersion": "kubernetes-client.io/v1", "kind": "ExternalSecret",
                      "metadata": {"name": "auth", "namespace": "qa1"}}, "Background")
    assert ("Secret", "qa1", "auth") not in kube.store


def test_release_secrets_orphans_every_secret_with_its_values_and_runs_once(private_key):
    kube = flavour1_cluster(private_key)
    values = secret_values(kube)
    checked = steps.run("release_secrets", kube, PARAMS, check_mode=True)
    assert checked["changed"] and kube.writes == [] and len(checked["external_secrets"]) == 4
    assert all(e["secret_present"] for e in checked["external_secrets"])
    assert not any("value" in (d["before"] + d["after"]) and "secret" in d["before"] for d in checked["diff"])
    res = steps.run("release_secrets", kube, PARAMS, check_mode=False)
    assert res["changed"]
    assert kube.list(*secrets.kes_kind().values()) == []
    assert secret_values(kube) == values
    assert all(not kube.store[("Secret", env, n)]["metadata"]["ownerReferences"] for env in ENVS for n in ("auth", "blob"))
    assert {w[0] for w in kube.writes} == {"delete:Orphan"}
    n = len(kube.writes)
    assert not steps.run("release_secrets", kube, PARAMS, check_mode=False)["changed"] and len(kube.writes) == n


def test_adopt_secrets_waits_for_eso_to_own_each_secret_without_a_gap(private_key):
    kube = flavour1_cluster(private_key)
    values = secret_values(kube)
    add_flavour2(kube)
    eso_reconcile(kube, watched_only=False)  # ESO's first attempt: every Secret is owned by KES -> refused
    assert all(c["status"] == "False" for es in kube.list(*secrets.eso_kind().values())
               for c in es["status"]["conditions"])
    with pytest.raises(MigrationError, match="release_secrets step first"):
        steps.run("adopt_secrets", kube, PARAMS, check_mode=False)
    steps.run("release_secrets", kube, PARAMS, check_mode=False)
    eso_reconcile(kube)  # ESO does not watch the unlabelled Secrets: nothing happens on its own
    assert all(not kube.store[("Secret", env, n)]["metadata"]["ownerReferences"] for env in ENVS for n in ("auth", "blob"))

    seen = []

    def sleep(_s):
        seen.append(secret_values(kube))
        eso_reconcile(kube)
    checked = steps.run("adopt_secrets", kube, PARAMS, check_mode=True)
    assert checked["changed"] and len(checked["diff"]) == 4 and all(("Secret", e, n) in kube.store for e in ENVS for n in ("auth",))
    res = steps.adopt_secrets(kube, PARAMS, False, sleep=sleep)
    assert res["changed"] and len(res["secrets"]) == 4
    for env in ENVS:
        for name in ("auth", "blob"):
            done, status = secrets.adoption(kube.store[("ExternalSecret.external-secrets.io", env, name)], kube.store[("Secret", env, name)])
            assert done, status
    assert secret_values(kube) == values and all(s == values for s in seen)
    n = len(kube.writes)
    assert not steps.run("adopt_secrets", kube, PARAMS, check_mode=False)["changed"] and len(kube.writes) == n


def test_adopt_secrets_times_out_with_eso_s_own_message(private_key):
    kube = flavour1_cluster(private_key)
    add_flavour2(kube)
    steps.run("release_secrets", kube, PARAMS, check_mode=False)
    es = kube.store[("ExternalSecret.external-secrets.io", "qa1", "auth")]
    es["status"] = {"conditions": [{"type": "Ready", "status": "False", "message": "could not get secret data"}]}
    with pytest.raises(KubeError, match="could not get secret data"):
        steps.adopt_secrets(kube, dict(PARAMS, wait_timeout=0), False, sleep=lambda _s: None)


# ------------------------------------------------------------------------------------------ releases (step 6)

def test_release_identities_follow_helm_operator_and_helm_controller():
    hr = {"metadata": {"name": "web", "namespace": "apps"}, "spec": {}}
    assert releases.identity_v1(hr) == ("apps", "apps-web")
    assert releases.identity_v2(hr) == ("apps", "web")
    assert releases.identity_v1(dict(hr, spec={"targetNamespace": "x"})) == ("x", "apps-x-web")
    assert releases.identity_v2(dict(hr, spec={"targetNamespace": "x"})) == ("x", "x-web")
    assert releases.identity_v1(dict(hr, spec={"releaseName": "r"})) == releases.identity_v2(dict(hr, spec={"releaseName": "r"}))


def test_releases_refuses_while_helm_operator_runs_then_deletes_the_v1_objects_only(private_key):
    kube = flavour1_cluster(private_key)
    add_flavour2(kube)
    kube.add({"apiVersion": "helm.fluxcd.io/v1", "kind": "HelmRelease",
              "metadata": {"name": "fluxcloud", "namespace": "flux"}, "spec": {"releaseName": "fluxcloud"}})
    with pytest.raises(MigrationError, match="would uninstall its release"):
        steps.run("releases", kube, PARAMS, check_mode=False)
    assert "Check mode" in steps.run("releases", kube, PARAMS, check_mode=True)["warnings"][0]
    assert kube.writes == []
    for name in ("flux", "flux-helm-operator"):
        kube.store[("Deployment", "flux", name)]["spec"]["replicas"] = 0
        kube.store[("Deployment", "flux", name)]["status"]["replicas"] = 0
    checked = steps.run("releases", kube, PARAMS, check_mode=True)
    assert checked["changed"] and kube.writes == []
    res = steps.run("releases", kube, PARAMS, check_mode=False)
    assert [w for w in res["warnings"] if "fluxcloud" in w and "helm uninstall fluxcloud -n flux" in w]
    assert {e["object"]: e["counterpart"] for e in res["helmreleases"]}["qa1/tidepool"] == "qa1/tidepool"
    assert kube.list("helm.fluxcd.io/v1", "HelmRelease") == []
    assert len(kube.list("helm.toolkit.fluxcd.io/v2", "HelmRelease")) == 3
    assert not steps.run("releases", kube, PARAMS, check_mode=False)["changed"]


# ------------------------------------------------------------------------------------------ remove (step 7)

def test_remove_refuses_while_objects_of_flavour1_remain(private_key):
    kube = flavour1_cluster(private_key)
    with pytest.raises(MigrationError, match="HelmRelease helm.fluxcd.io/v1 gloo-system/gloo"):
        steps.run("remove", kube, PARAMS, check_mode=False)
    checked = steps.run("remove", kube, PARAMS, check_mode=True)  # check mode: the earlier steps only planned
    assert checked["changed"] and "removed by the earlier steps first" in checked["warnings"][0]
    assert kube.writes == []


def migrated_to_step7(private_key):
    kube = flavour1_cluster(private_key)
    add_flavour2(kube)
    for name in ("flux", "flux-helm-operator"):
        kube.store[("Deployment", "flux", name)]["spec"]["replicas"] = 0
        kube.store[("Deployment", "flux", name)]["status"]["replicas"] = 0
    steps.run("release_secrets", kube, PARAMS, check_mode=False)
    steps.run("releases", kube, PARAMS, check_mode=False)
    return kube


def test_remove_deletes_the_flux_v1_install_and_flavour1_crds_once(private_key):
    kube = migrated_to_step7(private_key)
    kube.add(crd("helmreleases.helm.fluxcd.io"))
    checked = steps.run("remove", kube, PARAMS, check_mode=True)
    n = len(kube.writes)
    assert checked["changed"] and len(kube.writes) == n
    res = steps.run("remove", kube, PARAMS, check_mode=False)
    assert res["changed"]
    left = [k for k in kube.store if k[1] == "flux" or k == ("Namespace", None, "flux")]
    assert left == []
    assert ("CustomResourceDefinition", None, "helmreleases.helm.fluxcd.io") not in kube.store
    assert ("CustomResourceDefinition", None, "externalsecrets.kubernetes-client.io") not in kube.store
    assert ("Namespace", None, "flux-system") in kube.store
    assert all(("Secret", e, n) in kube.store for e in ENVS for n in ("auth", "blob"))
    n = len(kube.writes)
    assert not steps.run("remove", kube, PARAMS, check_mode=False)["changed"] and len(kube.writes) == n
    assert steps.run("preflight", kube, PARAMS, check_mode=False)["phase"] == "done"


def test_remove_keeps_the_namespace_flavour2_uses_but_not_the_v1_deploy_key(private_key):
    kube = migrated_to_step7(private_key)
    kube.add(cm("gloo", 1))
    steps.run("remove", kube, dict(PARAMS, keep_namespace=True, helm2_converted=True), check_mode=False)
    assert ("Namespace", None, "flux") in kube.store
    assert ("Secret", "flux", "flux-git-deploy") not in kube.store
    assert ("Deployment", "flux", "flux-helm-operator") not in kube.store
    assert state.v1_deploy_key(kube.get(state.deploy_key_secret("flux"))) is None


def test_unknown_step_is_refused():
    with pytest.raises(MigrationError, match="step='x'"):
        steps.run("x", FakeKube(), PARAMS, check_mode=False)


def test_adopt_secrets_waits_for_the_external_secret_of_each_secret_kes_wrote(private_key):
    kube = flavour1_cluster(private_key)
    expect = steps.run("preflight", kube, PARAMS, check_mode=False)["kes_secrets"]
    assert expect == ["qa1/auth", "qa1/blob", "qa2/auth", "qa2/blob"]
    steps.run("release_secrets", kube, PARAMS, check_mode=False)
    with pytest.raises(KubeError, match="qa1/auth: no external-secrets.io ExternalSecret writes it yet"):
        steps.adopt_secrets(kube, dict(PARAMS, wait_timeout=0, expect_secrets=expect), False, sleep=lambda _s: None)

    def flux_applies(_s):  # Flux v2 applies the tree while the step waits; ESO reconciles the new ExternalSecrets
        if not kube.list(*secrets.eso_kind().values()):
            add_flavour2(kube)
        eso_reconcile(kube)
    res = steps.adopt_secrets(kube, dict(PARAMS, expect_secrets=expect), False, sleep=flux_applies)
    assert res["secrets"] == expect


def test_remove_deletes_the_kes_irsa_account_the_cluster_step_made_and_names_eksctl_s(private_key):
    kube = migrated_to_step7(private_key)
    sa = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {
        "name": "external-secrets", "namespace": "external-secrets",
        "labels": {"aws-usage": "secrets-management", "app.kubernetes.io/managed-by": "tidepool.eks"}}}
    kube.add(sa)
    steps.run("remove", kube, PARAMS, check_mode=False)
    assert ("ServiceAccount", "external-secrets", "external-secrets") not in kube.store
    sa["metadata"]["labels"]["app.kubernetes.io/managed-by"] = "eksctl"
    kube.add(sa)
    res = steps.run("remove", kube, PARAMS, check_mode=False)
    assert ("ServiceAccount", "external-secrets", "external-secrets") in kube.store
    assert any("eksctl delete iamserviceaccount --cluster unit1 --namespace external-secrets" in w for w in res["warnings"])


# ------------------------------------------------------------------------------------------ retired Secrets (step 7)

def add_retired(kube: FakeKube, env: str, name: str):
    """A Secret KES wrote for chart 0.1.7 that no ExternalSecret of flavour 2 writes (chart 0.26.0 does not read it)."""
    add_kes_secret(kube, env, name, key="ServiceAuth")


def test_adopt_secrets_does_not_wait_for_a_retired_secret_and_remove_deletes_it_once(private_key):
    kube = flavour1_cluster(private_key)
    add_retired(kube, "qa1", "image")
    add_retired(kube, "qa2", "image")
    add_flavour2(kube)
    kes = steps.run("preflight", kube, PARAMS, check_mode=False)["kes_secrets"]
    assert "qa1/image" in kes
    for name in ("flux", "flux-helm-operator"):
        kube.store[("Deployment", "flux", name)]["spec"]["replicas"] = 0
        kube.store[("Deployment", "flux", name)]["status"]["replicas"] = 0
    steps.run("release_secrets", kube, PARAMS, check_mode=False)
    retired = ["qa1/image", "qa2/image", "qa2/user"]  # qa2/user: never written, nothing to do
    eso_reconcile(kube, watched_only=False)
    adopted = steps.run("adopt_secrets", kube, dict(PARAMS, expect_secrets=[s for s in kes if s not in retired]),
                        check_mode=False)
    assert adopted["secrets"] == []
    steps.run("releases", kube, PARAMS, check_mode=False)
    # a Pod of the old chart still reading qa2/image keeps it, named in a warning
    kube.add({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "image-5d9", "namespace": "qa2"},
              "spec": {"containers": [{"name": "image", "env": [
                  {"name": "SERVICE_AUTH", "valueFrom": {"secretKeyRef": {"name": "image", "key": "ServiceAuth"}}}]}]}})
    params = dict(PARAMS, retired_secrets=retired)
    checked = steps.run("remove", kube, params, check_mode=True)
    assert ("Secret", "qa1", "image") in kube.store
    assert {"kind": "Secret", "name": "image", "namespace": "qa1", "action": "delete"} in checked["objects"]
    assert "qa2-image-secret" not in str(checked["diff"]) and b64("qa1-image-secret") not in str(checked["diff"])
    res = steps.run("remove", kube, params, check_mode=False)
    assert ("Secret", "qa1", "image") not in kube.store
    assert ("Secret", "qa2", "image") in kube.store
    assert any("qa2/image" in w and "Pod image-5d9" in w for w in res["warnings"]), res["warnings"]
    assert all(("Secret", e, n) in kube.store for e in ENVS for n in ("auth", "blob"))
    del kube.store[("Pod", "qa2", "image-5d9")]
    steps.run("remove", kube, params, check_mode=False)
    assert ("Secret", "qa2", "image") not in kube.store
    n = len(kube.writes)
    assert not steps.run("remove", kube, params, check_mode=False)["changed"] and len(kube.writes) == n


def test_a_retired_secret_a_controller_owns_is_kept():
    live = {"qa1/image": {"apiVersion": "v1", "kind": "Secret", "metadata": {
        "name": "image", "namespace": "qa1", "ownerReferences": [{"apiVersion": "external-secrets.io/v1",
                                                                  "kind": "ExternalSecret", "name": "image",
                                                                  "controller": True}]}}}
    plan = secrets.retire_plan(["qa1/image"], live, {})
    assert plan[0]["action"] == "keep" and "ExternalSecret image" in plan[0]["reason"]


def test_pod_secret_names_cover_env_envfrom_volumes_and_projected():
    pod = {"spec": {"initContainers": [{"envFrom": [{"secretRef": {"name": "a"}}]}],
                    "containers": [{"env": [{"name": "X", "value": "1"},
                                            {"name": "Y", "valueFrom": {"secretKeyRef": {"name": "b", "key": "k"}}}]}],
                    "volumes": [{"name": "v", "secret": {"secretName": "c"}},
                                {"name": "p", "projected": {"sources": [{"secret": {"name": "d"}},
                                                                        {"configMap": {"name": "e"}}]}}],
                    "imagePullSecrets": [{"name": "f"}]}}
    assert secrets.pod_secret_names(pod) == {"a", "b", "c", "d", "f"}
