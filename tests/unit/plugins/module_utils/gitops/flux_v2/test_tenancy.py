"""Flux v2 multi-tenancy: the lockdown patches (kustomization.yaml and flux_bootstrap's objects agree, as kustomize
builds them), and the rendered tree of who applies which directory as whom."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from ansible_collections.tidepool.eks.plugins.module_utils.config import tree
from ansible_collections.tidepool.eks.plugins.module_utils.gitops import registry
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v2 import bootstrap as v2
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v2 import components, customization, lockdown, scaling, tenancy
from tests.support.inventory import load_values
from tests.support.schemas import REF

GIT = "git@github.com:tidepool-org/cluster-unit2.git"


def _kubectl():
    cached = sorted(Path.home().glob(".cache/tidepool-eks/bin/kubernetes-*/kubectl"))
    return str(cached[-1]) if cached else shutil.which("kubectl")


@pytest.fixture(scope="module")
def install():
    return components.assemble(components.crd_files(str(REF / "crds" / "flux2")))


def args_of(objs):
    return {o["metadata"]["name"]: o["spec"]["template"]["spec"]["containers"][0]["args"]
            for o in objs if o["kind"] == "Deployment"}


def test_the_lockdown_flags_are_fluxs(install):
    args = args_of(lockdown.apply(install))
    assert args["kustomize-controller"][-2:] == ["--no-cross-namespace-refs=true", "--default-service-account=default"]
    assert args["helm-controller"][-2:] == ["--no-cross-namespace-refs=true", "--default-service-account=default"]
    assert args["image-reflector-controller"][-1] == "--no-cross-namespace-refs=true"
    # source-controller v1.9 has no such flag: it would not start
    assert not any(a.startswith("--no-cross-namespace-refs") for a in args["source-controller"])
    assert set(lockdown.FLAGS) | set(lockdown.NOT_LOCKED) == set(components.CONTROLLERS)
    assert not set(lockdown.FLAGS) & set(lockdown.NOT_LOCKED)
    again = lockdown.apply(lockdown.apply(install))
    assert args_of(again) == args
    assert args_of(install)["kustomize-controller"][-1] == "--enable-leader-election"  # the input is unchanged


def test_the_scaling_flags_come_before_the_lockdown_s_and_are_not_repeated(install):
    """Flux's vertical-scaling arguments (gitops/flux_v2/scaling.py) on kustomize- and helm-controller, then the
    lockdown's (customization.LAYERS); the kustomization.yaml patches list them in the same order, and so do the
    flags the local stack starts the controllers with."""
    built = args_of(customization.apply(install))
    for name in ("kustomize-controller", "helm-controller"):
        assert built[name][-3:] == ["--requeue-dependency=5s",
                                    "--no-cross-namespace-refs=true", "--default-service-account=default"], name
        assert built[name][:-3] == args_of(install)[name]
    assert built["source-controller"] == args_of(install)["source-controller"]
    assert args_of(scaling.apply(scaling.apply(install))) == args_of(scaling.apply(install))
    assert args_of(customization.apply(customization.apply(install))) == built
    for name in ("kustomize-controller", "helm-controller", "source-controller", "image-reflector-controller"):
        assert customization.controller_flags(name) == built[name][len(args_of(install)[name]):], name
    patches = v2.kustomization_file()["patches"]
    targets = [p["target"]["name"] for p in patches]
    assert targets[:2] == ["kustomize-controller", "helm-controller"]  # scaling first
    assert "value: --requeue-dependency=5s" in patches[0]["patch"] and "value: --no-cross-namespace-refs=true" in patches[2]["patch"]


def test_flux_bootstrap_applies_what_flux_system_s_kustomization_builds(install, tmp_path):
    """kustomize (as kustomize-controller runs it) builds flux-system/ with the patches into the very Deployments and
    Kustomization flux_bootstrap applies: Flux's own sync changes nothing, flux_bootstrap's second run neither."""
    kubectl = _kubectl()
    if not kubectl:
        pytest.skip("no kubectl (kustomize) on this machine")
    files = v2.repository_files("clusters/unit2/flux", components.dump(install), GIT, "master")
    for path, text in files.items():
        (tmp_path / Path(path).name).write_text(text)
    built = list(yaml.safe_load_all(subprocess.run([kubectl, "kustomize", str(tmp_path)], check=True,
                                                   capture_output=True, text=True).stdout))
    applied = v2.objects({"git_path": "clusters/unit2/flux", "git_url": GIT, "git_branch": "master",
                          "git_poll_interval": "1m", "known_hosts": "h ssh-ed25519 AAAA"}, b"", install)
    assert args_of(built) == args_of(applied)
    ks = {o["metadata"]["name"]: o for o in built + applied if o["kind"] == "Kustomization"}
    assert ks["flux-system"]["spec"]["serviceAccountName"] == "kustomize-controller"
    assert [o for o in built if o["kind"] == "Kustomization"][0]["spec"] == \
        [o for o in applied if o["kind"] == "Kustomization"][0]["spec"]


def _tree(values):
    return tree.render_tree(values, registry.for_values(values))


def test_flavour_1_renders_no_tenancy():
    t = _tree(load_values("test1"))
    assert not any("/flux/tenants/" in p or p.endswith("flux/kustomization.yaml") for p in t)


def test_flux_system_applies_only_the_bootstrap_objects():
    t = _tree(load_values("local"))
    root = t["clusters/local/flux/kustomization.yaml"]
    assert root["resources"][0] == "flux-system"
    assert all(r.startswith("tenants/") for r in root["resources"][1:])
    assert {f"clusters/local/flux/{r}" for r in root["resources"][1:]} == {p for p in t if "/flux/tenants/" in p}
    assert "clusters/local/flux/tenants/qa1/namespace-qa1.yaml" in t
    assert not any(p.startswith("clusters/local/flux/environments/qa1/namespace-") for p in t)


def test_each_environment_runs_as_its_own_account_bound_to_its_namespace_only():
    t = _tree(load_values("local"))
    base = "clusters/local/flux/tenants/qa1/"
    ks = t[base + "kustomization-environment-qa1.yaml"]
    assert ks["metadata"] == {"name": "environment-qa1", "namespace": "flux-system"}
    assert ks["spec"]["path"] == "./clusters/local/flux/environments/qa1"
    assert ks["spec"]["serviceAccountName"] == "environment-qa1" and ks["spec"]["prune"] is True
    assert ks["spec"]["sourceRef"] == {"kind": "GitRepository", "name": "flux-system"}  # same namespace
    assert "targetNamespace" not in ks["spec"]  # an object naming another namespace is refused, not moved
    assert ks["spec"]["dependsOn"] == [{"name": "shared-services"}]
    sa = t[base + "serviceaccount-environment-qa1.yaml"]
    assert sa["metadata"] == {"name": "environment-qa1", "namespace": "flux-system"}
    binding = t[base + "rolebinding-environment-qa1.yaml"]
    assert binding["kind"] == "RoleBinding" and binding["metadata"]["namespace"] == "qa1"
    assert binding["roleRef"]["name"] == tenancy.ENVIRONMENT_ROLE
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "environment-qa1", "namespace": "flux-system"}]
    # nothing an environment's path holds may grant it more: no RBAC, no Kustomization in the environment's files
    env_kinds = {o["kind"] for p, o in t.items() if "/flux/environments/" in p}
    assert not env_kinds & {"Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding", "Kustomization", "Namespace"}


@pytest.mark.parametrize("host", ["local", "test2"])
def test_the_environment_role_covers_every_kind_of_an_environment_and_nothing_cluster_wide(host):
    from tests.unit.plugins.module_utils.config.test_reference_schemas import TREES
    for name in (host, "all-pkgs-v2"):
        t = TREES[name]
        role = next(o for p, o in t.items() if p.endswith(f"clusterrole-{tenancy.ENVIRONMENT_ROLE}.yaml"))
        granted = {(g, r) for rule in role["rules"] for g in rule["apiGroups"] for r in rule["resources"]}
        assert all("*" not in rule["resources"] + rule["apiGroups"] + rule["verbs"] for rule in role["rules"])
        kinds = {o["kind"] for p, o in t.items() if "/flux/environments/" in p} | {"ExternalSecret"}
        assert kinds <= set(tenancy.ENVIRONMENT_KINDS), kinds - set(tenancy.ENVIRONMENT_KINDS)
        assert {tenancy.ENVIRONMENT_KINDS[k] for k in kinds} <= granted
        assert not {r for _g, r in granted} & {"roles", "rolebindings", "clusterroles", "namespaces", "secrets"}


def test_shared_services_and_external_secrets_have_their_own_kustomizations():
    t = _tree(load_values("local"))
    base = "clusters/local/flux/tenants/"
    shared = t[base + "shared/kustomization-shared-services.yaml"]
    assert shared["spec"]["path"] == "./clusters/local/flux/shared"
    assert shared["spec"]["serviceAccountName"] == "shared-services"
    crb = t[base + "shared/clusterrolebinding-shared-services.yaml"]
    assert crb["roleRef"]["name"] == "cluster-admin"
    secrets = t[base + "external-secrets/kustomization-external-secrets-qa1.yaml"]
    assert secrets["spec"]["path"] == "./clusters/local/flux/external-secrets/qa1"
    assert secrets["spec"]["serviceAccountName"] == "environment-qa1"  # the environment's own account
    assert secrets["spec"]["dependsOn"] == [{"name": "environment-qa1"}]  # after its SecretStore


def test_a_package_namespace_s_external_secrets_run_as_the_shared_services():
    from tests.unit.plugins.module_utils.config.test_reference_schemas import TREES
    t = TREES["all-pkgs-v2"]
    ks = t["clusters/test1/flux/tenants/external-secrets/kustomization-external-secrets-flux.yaml"]
    assert ks["spec"]["serviceAccountName"] == "shared-services"
    envs = {p.split("/")[4] for p in t if "/flux/tenants/" in p and p.count("/") == 5 and "/external-secrets/" not in p
            and "/shared/" not in p}
    assert envs == {"qa2", "prd"}


def test_without_flux_there_is_nothing_to_split():
    values = load_values("local")
    values["pkgs"]["flux"] = {"enabled": False}
    assert registry.flavour(2).tenancy_files("x", {}, False, []) == {"x/kustomization.yaml": {
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
        "resources": ["flux-system", f"tenants/clusterrole-{tenancy.ENVIRONMENT_ROLE}.yaml"]},
        f"x/tenants/clusterrole-{tenancy.ENVIRONMENT_ROLE}.yaml": tenancy.environment_role()}
    t = _tree(values)
    assert not any("/flux/tenants/" in p for p in t)
    assert "clusters/local/flux/environments/qa1/namespace-qa1.yaml" in t


def test_every_helm_release_installs_as_an_account_the_tenancy_renders():
    """helm-controller's --default-service-account=default: a release without its own account could install nothing;
    an environment's account is bound in its namespace only, a shared service's cluster-wide (charts with CRDs)."""
    from tests.unit.plugins.module_utils.config.test_reference_schemas import TREES
    for name in ("local", "test2", "all-pkgs-v2"):
        t = TREES[name]
        accounts = {(o["metadata"]["namespace"], o["metadata"]["name"]) for p, o in t.items()
                    if "/flux/tenants/" in p and o["kind"] == "ServiceAccount"}
        bindings = {(s["namespace"], s["name"]): (o["kind"], o["metadata"].get("namespace"), o["roleRef"]["name"])
                    for p, o in t.items() if "/flux/tenants/" in p and o["kind"].endswith("Binding")
                    for s in o["subjects"]}
        envs = {p.split("/")[4] for p in t if "/flux/environments/" in p}
        for p, hr in t.items():
            if hr["kind"] != "HelmRelease":
                continue
            ns = hr["metadata"]["namespace"]
            key = (ns, hr["spec"]["serviceAccountName"])
            assert key in accounts, (name, p)
            assert bindings[key] == (("RoleBinding", ns, "cluster-admin") if ns in envs
                                     else ("ClusterRoleBinding", None, "cluster-admin")), (name, p)
        # the Namespaces of the shared services and environments are bootstrap objects, nowhere else
        namespaces = [p for p, o in t.items() if o["kind"] == "Namespace"]
        assert namespaces and all("/flux/tenants/" in p for p in namespaces), namespaces
