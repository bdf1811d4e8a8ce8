"""`site.yml -l local` on flavour 2 (the embedded default since issue 16): the GitOps loop closed on the local stack.

The config step pushes the flavour-2 tree to the stack's smart-HTTP git, flux_bootstrap installs the components and
gotk-sync (GitRepository on the smart-HTTP URL), the secrets step creates the SecretStores' IRSA roles in moto, and
the flux step waits until the stack's kustomize-controller has applied the pushed commit and the External Secrets
Operator has written every Secret from moto's Secrets Manager. A rerun changes nothing and requests no reconcile;
check mode with an environment added changes nothing anywhere; an environment removed is pruned by Flux, its Secrets
Manager values kept, and restored with the same values when added back; a bad manifest committed by hand stops the
flux step's wait with Flux's own message. The multi-tenancy lockdown: each environment is applied by its own
Kustomization as its own service account, and an object of its directory aimed at another namespace, or a
HelmRelease of its directory whose chart comes from another namespace's source, is refused by Flux and reported by the
wait.

The flavour-1 tests of the same stack pin `local` to flavour 1 (tests/support/helpers.LOCAL_FLAVOUR1_VARS); at the
end this module suspends and deletes Flux's sync objects (nothing is pruned) so Flux leaves their runs alone."""
from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import time
from pathlib import Path

import boto3
import pytest

from local_stack import procs  # scripts/local_stack (tests/conftest.py puts it on sys.path)

from tests.support import charts
from tests.support.helpers import recap, run_playbook, stop_flux_v2
from tests.support.inventory import load_values

pytestmark = pytest.mark.integration


def site(env, **kw):
    return run_playbook("site.yml", limit="local", env=env, local_flavour=None, **kw)


def kget(kube, *args):
    """None only on NotFound; a kubectl failure fails the test (KubeStack.get)."""
    return kube.get(*args)


def head(env):
    url = f"{env['TIDEPOOL_GIT_HTTP_URL']}cluster-local.git"
    return subprocess.run(["git", "ls-remote", url, "refs/heads/master"], capture_output=True, text=True,
                          check=True).stdout.split()[0]


def secret_values(env, prefix="local/"):
    sm = boto3.client("secretsmanager", endpoint_url=env["AWS_ENDPOINT_URL"], region_name="us-east-1")
    names = [s["Name"] for s in sm.list_secrets(MaxResults=100)["SecretList"] if s["Name"].startswith(prefix)]
    out = {}
    for n in names:  # the ExternalSecrets' JSON documents; not the Tiller CA a flavour-1 run of the session stored
        text = sm.get_secret_value(SecretId=n)["SecretString"]
        if text.startswith("{"):
            out[n] = json.loads(text)
    return out


def envs(*names):
    base = load_values("local")["environments"]["qa1"]
    return {"environments": {n: base for n in names}}


@pytest.fixture(scope="module")
def converged(gitops_stack, local_stack_env):
    first = site(local_stack_env)
    assert first.returncode == 0, first.stdout[-8000:] + first.stderr[-2000:]
    yield {"env": local_stack_env, "first": first, "kube": gitops_stack.kube, "stack": gitops_stack.stack}
    # Flux must not apply or prune the flavour-1 trees later modules push to the same repository
    stop_flux_v2(gitops_stack.kube)


def test_flux_applied_the_pushed_commit_and_every_secret_is_moto_s_value(converged):
    env, kube = converged["env"], converged["kube"]
    sha = head(env)
    ks = kget(kube, "kustomization", "flux-system", "-n", "flux-system")
    assert ks["status"]["lastAppliedRevision"] == f"master@sha1:{sha}"
    git = kget(kube, "gitrepository", "flux-system", "-n", "flux-system")
    assert git["spec"]["url"] == f"{env['TIDEPOOL_GIT_HTTP_URL']}cluster-local.git"
    assert set(kget(kube, "secret", "flux-system", "-n", "flux-system")["data"]) == {
        "identity", "identity.pub", "known_hosts"}
    externals = kget(kube, "externalsecrets.external-secrets.io", "-A")["items"]
    assert externals and {e["metadata"]["namespace"] for e in externals} >= {"qa1"}
    out = " ".join(converged["first"].stdout.split())  # the callback wraps long messages
    assert f"Flux applied master@sha1:{sha}; {len(externals)} of {len(externals)} Secrets present" in out
    # the run's own check (flux_wait_compare_values in host_vars/local): each Secret against moto, no value printed
    mine = [e for e in externals if e["spec"]["data"][0]["remoteRef"]["key"].startswith("local/")]
    equal = re.search(r"Secrets present, (\d+) of (\d+) byte-equal to their values in Secrets Manager", out)
    assert equal and int(equal.group(1)) >= len(mine) and " differ " not in out, out[-3000:]
    values = secret_values(env)
    # (other modules of the session may have left ExternalSecrets of their own, e.g. test_local_stack_gitops's)
    for es in [e for e in externals if e["spec"]["data"][0]["remoteRef"]["key"].startswith("local/")]:
        ns, name = es["metadata"]["namespace"], es["spec"]["target"]["name"]
        data = kget(kube, "secret", name, "-n", ns)["data"]
        stored = values[es["spec"]["data"][0]["remoteRef"]["key"]]
        assert {k: base64.b64decode(v).decode() for k, v in data.items()} == stored, (ns, name)
    # the SecretStore reads through the IRSA role the secrets step created in moto (as eksctl would)
    sa = kget(kube, "serviceaccount", "secret-store", "-n", "qa1")
    arn = sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
    iam = boto3.client("iam", endpoint_url=env["AWS_ENDPOINT_URL"], region_name="us-east-1")
    role = iam.get_role(RoleName=arn.rsplit("/", 1)[1])["Role"]
    assert "system:serviceaccount:qa1:secret-store" in json.dumps(role["AssumeRolePolicyDocument"])
    # Flux v2 only: no Flux v1 or kubernetes-external-secrets object of this run
    assert "helm.fluxcd.io" not in out and "Tiller" not in ks.get("metadata", {}).get("name", "")


def helm_releases(kube):
    """Every HelmRelease of the stack (``helm.toolkit.fluxcd.io``); other modules uninstall theirs when they end."""
    return kget(kube, "helmreleases.helm.toolkit.fluxcd.io", "-A")["items"]


def condition(obj, kind="Ready"):
    return next((c for c in (obj.get("status") or {}).get("conditions") or [] if c["type"] == kind), {})


def helm_records(kube):
    """Helm's release records (``owner=helm`` Secrets, one per release revision): a reinstall or upgrade adds one."""
    return sorted(f"{s['metadata']['namespace']}/{s['metadata']['name']}"
                  for s in kget(kube, "secrets", "-A", "-l", "owner=helm")["items"])


def test_every_helmrelease_is_installed_ready_and_its_workloads_available(converged):
    kube = converged["kube"]
    out = " ".join(converged["first"].stdout.split())
    line = re.search(r"(\d+) of (\d+) HelmReleases Ready, (\d+) of (\d+) Deployments / StatefulSets Available", out)
    assert line, out[-3000:]
    ready, total, available, workloads = map(int, line.groups())
    releases = helm_releases(kube)
    names = {f"{r['metadata']['namespace']}/{r['metadata']['name']}" for r in releases}
    assert ready == total == len(releases) and {"qa1/tidepool", "external-secrets/external-secrets"} <= names
    assert available == workloads > 0
    for rel in releases:
        assert condition(rel).get("status") == "True", (rel["metadata"], condition(rel))
        assert rel["status"]["history"][0]["status"] == "deployed"
    # the Tidepool chart of the environment: its Deployments run on the simulated nodes and are Available
    tidepool = kget(kube, "deployments", "-n", "qa1")["items"]
    assert len(tidepool) >= 10
    for dep in tidepool:
        assert condition(dep, "Available").get("status") == "True", dep["metadata"]["name"]
    pods = kget(kube, "pods", "-n", "qa1")["items"]
    assert pods and all(p["spec"].get("nodeName", "").startswith("kwok-node-") for p in pods)


#: Secrets a chart's Job writes when it runs (kwok runs no process, so they never appear on the stack), with the
#: release of that chart: gloo's certgen hook Job (deleted once it succeeded) creates its validation certificate. Each
#: is checked to be named by a Job of the chart rendered with the release's values.
WRITTEN_BY_A_JOB = {("gloo-system", "gateway-validation-certs"): "gloo"}


def test_every_secret_and_key_the_running_workloads_read_exists(converged, tmp_path):
    kube = converged["kube"]
    for (ns, name), release in WRITTEN_BY_A_JOB.items():
        rel = kget(kube, "helmreleases.helm.toolkit.fluxcd.io", release, "-n", ns)
        spec = rel["spec"]["chart"]["spec"]
        objects = charts.template(spec["chart"], spec["version"], rel["spec"].get("values"), tmp_path,
                                  release=rel["spec"].get("releaseName") or release, namespace=ns)
        jobs = [o for o in objects if o.get("kind") == "Job"]
        assert any(name in json.dumps(j["spec"]["template"]["spec"]["containers"]) for j in jobs), (ns, name)
    namespaces = {r["spec"].get("targetNamespace") or r["metadata"]["namespace"] for r in helm_releases(kube)}
    missing, checked = [], 0
    for ns in sorted(namespaces):
        secrets = {s["metadata"]["name"]: set((s.get("data") or {})) for s in kget(kube, "secrets", "-n", ns)["items"]}
        refs = charts.secret_references(kget(kube, "pods", "-n", ns)["items"], required_only=True)
        checked += len(refs)
        for (name, key), pods in sorted(refs.items()):
            if (ns, name) in WRITTEN_BY_A_JOB:
                continue
            if name not in secrets:
                missing.append(f"{ns}/{sorted(pods)[0]}: Secret {name}")
            elif key != "*" and key not in secrets[name]:
                missing.append(f"{ns}/{sorted(pods)[0]}: key {key} of Secret {name}")
    assert checked > 0
    assert missing == []


def test_no_chart_or_git_source_points_beyond_loopback_and_none_fails(converged):
    kube = converged["kube"]
    sources = {kind: kget(kube, f"{kind}.source.toolkit.fluxcd.io", "-A")["items"]
               for kind in ("helmrepositories", "helmcharts", "gitrepositories")}
    assert sources["helmrepositories"] and sources["helmcharts"]
    for kind, items in sources.items():
        for src in items:
            where = f"{kind} {src['metadata']['namespace']}/{src['metadata']['name']}"
            assert condition(src).get("status") == "True", (where, condition(src))
            if "url" in src["spec"]:
                assert re.match(r"^(https?|oci)://127\.0\.0\.1:\d+(/|$)", src["spec"]["url"]), (where, src["spec"]["url"])


def test_second_run_changes_nothing_and_requests_no_reconcile(converged):
    env, kube = converged["env"], converged["kube"]
    sha = head(env)
    before = kget(kube, "kustomization", "flux-system", "-n", "flux-system")
    records = helm_records(kube)
    assert records
    again = site(env)
    assert again.returncode == 0, again.stdout[-6000:]
    assert recap(again.stdout)["local"]["changed"] == 0, again.stdout[-8000:]
    assert head(env) == sha
    after = kget(kube, "kustomization", "flux-system", "-n", "flux-system")
    annotations = lambda o: (o["metadata"].get("annotations") or {}).get("reconcile.fluxcd.io/requestedAt")  # noqa: E731
    assert annotations(after) == annotations(before)
    assert after["status"]["lastAppliedRevision"] == f"master@sha1:{sha}"
    assert helm_records(kube) == records   # no release reinstalled or upgraded (same revisions)


def test_check_mode_previews_a_new_environment_and_changes_nothing(converged):
    env, kube = converged["env"], converged["kube"]
    sha, values = head(env), secret_values(env)
    res = site(env, extra_vars=envs("qa1", "zz1"), check=True, diff=True)
    assert res.returncode == 0, res.stdout[-6000:] + res.stderr[-2000:]
    assert recap(res.stdout)["local"]["changed"] > 0
    assert "clusters/local/flux/environments/zz1/" in res.stdout
    assert kget(kube, "namespace", "zz1") is None
    assert head(env) == sha and secret_values(env) == values


def test_removed_environment_is_pruned_by_flux_and_restored_with_its_values(converged):
    env, kube = converged["env"], converged["kube"]
    add = site(env, extra_vars=envs("qa1", "zz2"))
    assert add.returncode == 0, add.stdout[-6000:]
    assert kget(kube, "secret", "auth", "-n", "zz2")
    kept = {k: v for k, v in secret_values(env).items() if k.startswith("local/zz2/")}
    assert kept
    remove = site(env)
    assert remove.returncode == 0, remove.stdout[-6000:]
    ns = kget(kube, "namespace", "zz2")
    assert ns is None or ns["status"]["phase"] == "Terminating"  # Flux pruned it (prune: true)
    assert {k: v for k, v in secret_values(env).items() if k.startswith("local/zz2/")} == kept
    back = site(env, extra_vars=envs("qa1", "zz2"))
    assert back.returncode == 0, back.stdout[-6000:]
    data = kget(kube, "secret", "auth", "-n", "zz2")["data"]
    assert {k: base64.b64decode(v).decode() for k, v in data.items()} == kept["local/zz2/auth"]
    final = site(env)
    assert final.returncode == 0, final.stdout[-6000:]


def test_each_environment_is_applied_by_its_own_kustomization_as_its_own_account(converged):
    """The multi-tenancy lockdown: flux-system (as kustomize-controller) applies only the bootstrap objects; each
    environment, the shared services and each namespace's ExternalSecrets have their own Kustomization, at the pushed
    commit, running as their own service account; an environment's account is bound in its namespace only."""
    env, kube = converged["env"], converged["kube"]
    sha = head(env)
    ks = {k["metadata"]["name"]: k for k in kget(kube, "kustomization", "-n", "flux-system")["items"]}
    assert ks["flux-system"]["spec"]["serviceAccountName"] == "kustomize-controller"
    expected = {"environment-qa1": ("environment-qa1", "./clusters/local/flux/environments/qa1"),
                "shared-services": ("shared-services", "./clusters/local/flux/shared"),
                "external-secrets-qa1": ("environment-qa1", "./clusters/local/flux/external-secrets/qa1")}
    for name, (account, path) in expected.items():
        assert (ks[name]["spec"]["serviceAccountName"], ks[name]["spec"]["path"]) == (account, path), name
        assert ks[name]["status"]["lastAppliedRevision"] == f"master@sha1:{sha}", name
    # what each one applied is in its own inventory: qa1's HelmRelease by environment-qa1, not by flux-system
    inventory = lambda name: {e["id"] for e in ks[name]["status"]["inventory"]["entries"]}  # noqa: E731
    assert "qa1_tidepool_helm.toolkit.fluxcd.io_HelmRelease" in inventory("environment-qa1")
    assert not any(i.startswith("qa1_tidepool_") for i in inventory("flux-system"))
    assert "_qa1__Namespace" in inventory("flux-system")  # the namespace is a bootstrap object
    binding = kget(kube, "rolebinding", "environment-qa1", "-n", "qa1")
    assert binding["roleRef"]["name"] == "tidepool-environment"
    assert kget(kube, "clusterrolebinding", "environment-qa1") is None
    # the lockdown flags of the stack's controller are the ones the components' Deployment carries
    deploy = kget(kube, "deployment", "kustomize-controller", "-n", "flux-system")
    assert deploy["spec"]["template"]["spec"]["containers"][0]["args"][-2:] == [
        "--no-cross-namespace-refs=true", "--default-service-account=default"]
    # and helm-controller's, in the components and in the stack's process (what it enforces: the test below)
    deploy = kget(kube, "deployment", "helm-controller", "-n", "flux-system")
    assert deploy["spec"]["template"]["spec"]["containers"][0]["args"][-2:] == [
        "--no-cross-namespace-refs=true", "--default-service-account=default"]
    assert process_args(converged["stack"], "helm-controller")[-2:] == [
        "--no-cross-namespace-refs=true", "--default-service-account=default"]
    hr = kget(kube, "helmreleases.helm.toolkit.fluxcd.io", "tidepool", "-n", "qa1")  # not Flux v1's kind
    assert hr["spec"]["serviceAccountName"] == "helm-release"
    assert hr["spec"]["chart"]["spec"]["sourceRef"]["namespace"] == "qa1"
    assert kget(kube, "serviceaccount", "helm-release", "-n", "qa1") is not None


def test_the_flux_cli_of_the_same_release_reads_and_drives_the_stack(converged):
    """`flux` of the one Flux release (the components' and the stack controllers'), built from the module proxy:
    it names that release, lists every Flux object Ready, reconciles the sync objects and shows their events."""
    from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v2 import components
    kube = converged["kube"]
    env = dict(os.environ, KUBECONFIG=str(kube.kubeconfig))

    def flux(*args, timeout=120):
        res = subprocess.run([str(charts.flux_cli()), *args], env=env, capture_output=True, text=True, timeout=timeout,
                             stdin=subprocess.DEVNULL)
        assert res.returncode == 0, (args, res.stdout[-3000:], res.stderr[-3000:])
        return res.stdout + res.stderr

    assert components.FLUX_VERSION.lstrip("v") in flux("version", "--client")
    listed = flux("get", "all", "-A")
    for name in ("gitrepository/flux-system", "kustomization/flux-system", "kustomization/environment-qa1",
                 "helmrelease/tidepool", "helmrepository/"):
        assert name in listed, (name, listed[-3000:])
    rows = [line.split() for line in listed.splitlines() if "/" in line and not line.startswith("NAMESPACE")]
    # image automation is stored, not reconciled: the stack runs no image controllers (docs/local-stack.md)
    image = [r for r in rows if r[1].startswith(("imagerepository/", "imagepolicy/", "imageupdateautomation/"))]
    reconciled = [r for r in rows if r not in image]
    assert reconciled and all("True" in row for row in reconciled), [r for r in reconciled if "True" not in r]
    assert image and all("waiting to be reconciled" in " ".join(r) for r in image), image[:3]
    done = flux("reconcile", "kustomization", "flux-system", "-n", "flux-system", "--with-source", timeout=300)
    assert f"applied revision master@sha1:{head(converged['env'])}" in done, done[-2000:]
    events = flux("events", "-n", "flux-system", "--for", "Kustomization/flux-system")
    assert "ReconciliationSucceeded" in events or "Progressing" in events, events[-2000:]


def process_args(stack, name):
    """The command line of the stack's process ``name`` (its pid file in ``<state>/run``)."""
    pid = procs.read_pid(stack.run, name)
    assert procs.alive(pid), f"{name} is not running (pid {pid})"
    return (Path("/proc") / str(pid) / "cmdline").read_bytes().decode().rstrip("\0").split("\0")


def commit_by_hand(env, tmp_path, directory, name, namespace, message, manifest=None):
    """Push, as someone (not the collection), a ConfigMap ``namespace/name`` (or the YAML ``manifest``) in
    ``clusters/local/flux/<directory>/by-hand.yaml`` of the stack's config repository; returns ``git(*args)`` of that
    clone (to revert it)."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", f"{env['TIDEPOOL_GIT_HTTP_URL']}cluster-local.git", str(clone)], check=True)

    def git(*args):
        return subprocess.run(["git", "-C", str(clone), *args], check=True, capture_output=True, text=True)
    git("config", "user.name", "someone")
    git("config", "user.email", "someone@example.com")
    (clone / "clusters" / "local" / "flux" / directory / "by-hand.yaml").write_text(manifest or (
        f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: {namespace}\ndata:\n  a: b\n"))
    for args in (["add", "-A"], ["commit", "-q", "-m", message], ["push", "-q", "origin", "HEAD:master"]):
        git(*args)
    return git


def flux_step_fails(env):
    """``playbooks/flux.yml`` on the by-hand head (its wait bounded to 150 s) must fail: ``(the head, its output)``."""
    bad = head(env)
    res = run_playbook("playbooks/flux.yml", limit="local", env=env, local_flavour=None,
                       extra_vars={"flux_wait_applied_timeout": 150})
    assert res.returncode != 0, res.stdout[-4000:]
    return bad, res.stdout


def revert_by_hand(git):
    git("revert", "--no-edit", "HEAD")
    git("push", "-q", "origin", "HEAD:master")


def test_an_environment_s_object_in_another_namespace_is_refused_and_the_wait_reports_it(converged, tmp_path):
    env, kube = converged["env"], converged["kube"]
    # committed under qa1's directory, aimed at kube-system: qa1's account may not write there
    git = commit_by_hand(env, tmp_path, "environments/qa1", "by-hand", "kube-system", "qa1 reaches into kube-system")
    try:
        bad, out = flux_step_fails(env)
        out = " ".join(out.split())
        assert f"Flux did not apply {bad[:12]}: Kustomization flux-system/environment-qa1:" in out, out[-4000:]
        assert "forbidden" in out.lower() and "system:serviceaccount:flux-system:environment-qa1" in out, out[-4000:]
        assert "by-hand" in out and "kube-system" in out, out[-4000:]
        assert kget(kube, "configmap", "by-hand", "-n", "kube-system") is None
        ks = kget(kube, "kustomization", "environment-qa1", "-n", "flux-system")
        assert ks["status"]["lastAttemptedRevision"] == f"master@sha1:{bad}"
        assert kget(kube, "kustomization", "flux-system", "-n", "flux-system")["status"]["lastAppliedRevision"] == \
            f"master@sha1:{bad}"  # the bootstrap objects applied; only the environment refused
    finally:
        revert_by_hand(git)
    fixed = run_playbook("playbooks/flux.yml", limit="local", env=env, local_flavour=None)
    assert fixed.returncode == 0, fixed.stdout[-4000:]
    assert f"Flux applied master@sha1:{head(env)}" in fixed.stdout.replace("\n        ", " ")


HR = "helmreleases.helm.toolkit.fluxcd.io"
#: what helm-controller (v1.6.3, internal/acl) says when --no-cross-namespace-refs refuses a reference
CROSS_NAMESPACE = "cross-namespace references are not allowed: cannot access"


def shared_release_source(kube):
    """A working source of another namespace than qa1: the shared reloader release's chart spec (its sourceRef a
    HelmRepository that is Ready in the release's namespace) and the HelmChart helm-controller made of it."""
    shared = kget(kube, HR, "reloader", "-n", "reloader")
    spec, ref = shared["spec"]["chart"]["spec"], shared["spec"]["chart"]["spec"]["sourceRef"]
    namespace = ref.get("namespace") or "reloader"
    assert ref["kind"] == "HelmRepository" and namespace != "qa1"
    assert condition(kget(kube, "helmrepository", ref["name"], "-n", namespace)).get("status") == "True"
    chart_ns, chart_name = shared["status"]["helmChart"].split("/")
    assert chart_ns == namespace and condition(kget(kube, "helmchart", chart_name, "-n", chart_ns)).get("status") == \
        "True"
    return spec, namespace, chart_name


def release_by_hand(env, tmp_path, name, chart):
    """Push, by hand under qa1's directory, the HelmRelease ``qa1/name`` with ``chart`` (``{"chart": ...}`` or
    ``{"chartRef": ...}``), installing as qa1's ``helm-release`` account (cluster-admin in qa1: only the lockdown
    stops a chart of another namespace); returns ``git(*args)`` of the clone (:func:`commit_by_hand`)."""
    manifest = json.dumps({"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
                           "metadata": {"name": name, "namespace": "qa1"},
                           "spec": {"interval": "10m", "serviceAccountName": "helm-release", **chart}})
    return commit_by_hand(env, tmp_path, "environments/qa1", name, "qa1", f"qa1's {name}, from another namespace",
                          manifest=manifest)


def applied_by_the_environment(kube, name, bad):
    """environment-qa1 applied the commit: the HelmRelease is its own (in qa1), no RBAC refusal; it exists."""
    ks = kget(kube, "kustomization", "environment-qa1", "-n", "flux-system")
    assert ks["status"]["lastAppliedRevision"] == f"master@sha1:{bad}", ks["status"]
    assert f"qa1_{name}_helm.toolkit.fluxcd.io_HelmRelease" in {e["id"] for e in ks["status"]["inventory"]["entries"]}
    return kget(kube, HR, name, "-n", "qa1")


def nothing_installed(kube, name):
    """No Helm release record of ``name`` in qa1 (``sh.helm.release.v1.<name>.v<n>``), nothing it would install."""
    assert [s["metadata"]["name"] for s in kget(kube, "secrets", "-n", "qa1")["items"]
            if s["metadata"]["name"].startswith(f"sh.helm.release.v1.{name}.")] == []
    assert kget(kube, "secrets", "-n", "qa1", "-l", f"owner=helm,name={name}")["items"] == []
    assert [d["metadata"]["name"] for d in kget(kube, "deployments", "-n", "qa1")["items"]
            if (d["metadata"].get("annotations") or {}).get("meta.helm.sh/release-name") == name] == []


def reverted_and_pruned(env, kube, git, name):
    revert_by_hand(git)
    fixed = run_playbook("playbooks/flux.yml", limit="local", env=env, local_flavour=None)
    assert fixed.returncode == 0, fixed.stdout[-4000:]
    assert f"Flux applied master@sha1:{head(env)}" in fixed.stdout.replace("\n        ", " ")
    assert kget(kube, HR, name, "-n", "qa1") is None  # pruned by environment-qa1, its finalizer done


def test_an_environment_s_helmrelease_with_another_namespace_s_chart_source_is_refused_and_the_wait_reports_it(
        converged, tmp_path):
    """``spec.chart.spec.sourceRef``: a HelmRepository of the shared reloader's namespace. environment-qa1 may
    create the HelmRelease (its kind, in its namespace); helm-controller (--no-cross-namespace-refs) refuses to make
    its HelmChart in that namespace, so nothing is installed in qa1. helm-controller v1.6.3 records this refusal in
    its log only (reconcileChartTemplate returns it before any condition is set: the HelmRelease keeps no status);
    the flux step's wait fails at once naming the release and the reason (release_health.cross_namespace_source)."""
    env, kube, stack = converged["env"], converged["kube"], converged["stack"]
    spec, src_ns, _ = shared_release_source(kube)
    name = "by-hand-source"
    log = stack.run / "helm-controller.log"
    start = log.stat().st_size
    git = release_by_hand(env, tmp_path, name, {"chart": {"spec": {
        "chart": spec["chart"], "version": spec["version"],
        "sourceRef": {"kind": "HelmRepository", "name": spec["sourceRef"]["name"], "namespace": src_ns}}}})
    try:
        bad, out = flux_step_fails(env)
        out = " ".join(out.split())
        hr = applied_by_the_environment(kube, name, bad)
        # (a) refused by helm-controller: its HelmChart would be src_ns/qa1-<name>, in the other namespace
        refusal = f"{CROSS_NAMESPACE} HelmChart {src_ns}/qa1-{name}"
        for _ in range(60):  # the wait may fail before helm-controller's first reconcile of the release
            logged = [line for line in log.read_text(errors="replace")[start:].splitlines()
                      if f'"name": "{name}"' in line]
            if any("Reconciler error" in line and refusal in line for line in logged):
                break
            time.sleep(1)
        assert any("Reconciler error" in line and refusal in line for line in logged), logged[-5:]
        assert kget(kube, "helmchart", f"qa1-{name}", "-n", src_ns) is None
        ready = condition(hr)
        assert ready.get("status") != "True" and (hr.get("status") or {}).get("observedGeneration") != \
            hr["metadata"]["generation"], hr.get("status")
        assert not ready or CROSS_NAMESPACE in ready.get("message", ""), ready  # a later helm-controller may say it
        # (b) the run reports it at once, with the reason helm-controller only logs
        assert f"Flux applied {bad[:12]} but 1 HelmRelease(s) failed" in out, out[-4000:]
        assert (f"HelmRelease qa1/{name}: its chart source HelmRepository {src_ns}/{spec['sourceRef']['name']} is "
                f"in another namespace") in out and refusal in out, out[-4000:]
        # (c) nothing installed in qa1
        nothing_installed(kube, name)
    finally:
        reverted_and_pruned(env, kube, git, name)


def test_an_environment_s_helmrelease_with_another_namespace_s_chart_ref_is_refused_with_fluxs_message(
        converged, tmp_path):
    """``spec.chartRef``: the HelmChart the shared reloader release installs from, in its namespace. helm-controller
    refuses it at its current spec (Ready False and Stalled, reason AccessDenied, with its message), and the wait
    fails at once with that message."""
    env, kube = converged["env"], converged["kube"]
    _, src_ns, chart_name = shared_release_source(kube)
    name = "by-hand-chartref"
    git = release_by_hand(env, tmp_path, name,
                          {"chartRef": {"kind": "HelmChart", "name": chart_name, "namespace": src_ns}})
    try:
        bad, out = flux_step_fails(env)
        out = " ".join(out.split())
        hr = applied_by_the_environment(kube, name, bad)
        refusal = f"{CROSS_NAMESPACE} HelmChart {src_ns}/{chart_name}"
        ready, stalled = condition(hr), condition(hr, "Stalled")
        assert (ready.get("status"), ready.get("reason")) == ("False", "AccessDenied") and refusal in \
            ready.get("message", ""), hr.get("status")
        assert stalled.get("status") == "True" and hr["status"]["observedGeneration"] == hr["metadata"]["generation"]
        assert f"Flux applied {bad[:12]} but 1 HelmRelease(s) failed" in out, out[-4000:]
        assert f"HelmRelease qa1/{name}: {refusal}" in out, out[-4000:]
        nothing_installed(kube, name)
    finally:
        reverted_and_pruned(env, kube, git, name)


def test_a_bad_manifest_committed_by_hand_is_reported_by_the_wait_with_fluxs_message(converged, tmp_path):
    env, kube = converged["env"], converged["kube"]
    # well-formed YAML the API server refuses: Flux's server-side dry run fails and names the object
    git = commit_by_hand(env, tmp_path, "shared/reloader", "Bad_By_Hand", "reloader", "a bad manifest, by hand")
    try:
        bad, out = flux_step_fails(env)
        assert f"Flux did not apply {bad[:12]}: Kustomization flux-system/shared-services:" in out, out[-4000:]
        assert "Bad_By_Hand" in out and "dry-run failed" in out, out[-4000:]
        ks = kget(kube, "kustomization", "shared-services", "-n", "flux-system")
        assert ks["status"]["lastAttemptedRevision"] == f"master@sha1:{bad}"
    finally:
        revert_by_hand(git)
    fixed = run_playbook("playbooks/flux.yml", limit="local", env=env, local_flavour=None)
    assert fixed.returncode == 0, fixed.stdout[-4000:]
    assert f"Flux applied master@sha1:{head(env)}" in fixed.stdout.replace("\n        ", " ")


def flux_step_times_out(env, component, stack):
    """``playbooks/flux.yml`` with ``component`` of the stack stopped and the wait bounded to 20 s (a progress line
    every 5 s) must fail at its timeout: its output, one line. ``component`` runs again afterwards."""
    stack.down([component])
    try:
        assert not stack.is_running(component)
        res = run_playbook("playbooks/flux.yml", limit="local", env=env, local_flavour=None,
                           extra_vars={"flux_wait_applied_timeout": 20, "flux_wait_applied_poll": 5})
    finally:
        stack.up([component], timeout=120)
    out = " ".join(res.stdout.split())
    assert res.returncode != 0, out[-4000:]
    # the bounded wait: progress lines, then the task fails (not the run hanging until CI's limit)
    assert "at most (seconds): 20" in out and "FAILED - RETRYING" in out and "fatal: [local]" in out, out[-4000:]
    assert "Traceback" not in res.stdout + res.stderr
    return out


def test_with_kustomize_controller_down_the_wait_ends_at_its_timeout_naming_the_commit(converged, tmp_path):
    env, kube, stack = converged["env"], converged["kube"], converged["stack"]
    # a valid commit by someone else: the head moves, and nothing on the stack applies it while Flux is down
    git = commit_by_hand(env, tmp_path, "shared/reloader", "by-hand", "reloader", "a valid manifest, by hand")
    try:
        new = head(env)
        out = flux_step_times_out(env, "kustomize-controller", stack)
        assert f"Waiting for Flux to apply {new[:12]}" in out, out[-4000:]
        assert kget(kube, "kustomization", "flux-system", "-n", "flux-system")["status"]["lastAppliedRevision"] != \
            f"master@sha1:{new}"
    finally:
        revert_by_hand(git)
    # Flux back: the next run waits until it applied the head, and passes
    fixed = run_playbook("playbooks/flux.yml", limit="local", env=env, local_flavour=None)
    assert fixed.returncode == 0, fixed.stdout[-4000:]
    assert f"Flux applied master@sha1:{head(env)}" in " ".join(fixed.stdout.split())
    assert kget(kube, "configmap", "by-hand", "-n", "reloader") is None  # the revert pruned it


def test_with_the_external_secrets_operator_down_the_wait_ends_at_its_timeout_naming_the_secret(converged):
    env, kube, stack = converged["env"], converged["kube"], converged["stack"]
    mine = sorted((e for e in kget(kube, "externalsecrets.external-secrets.io", "-n", "qa1")["items"]
                   if e["spec"]["data"][0]["remoteRef"]["key"].startswith("local/")),
                  key=lambda e: e["metadata"]["name"])
    assert mine, "no ExternalSecret of local in qa1"
    es = mine[0]
    name, key = es["spec"]["target"]["name"], es["spec"]["data"][0]["remoteRef"]["key"]
    # the Secret lost while ESO is down: nothing writes it again before the wait's timeout
    stack.down(["external-secrets"])
    try:
        kube.kubectl("delete", "secret", name, "-n", "qa1")
    except BaseException:
        stack.up(["external-secrets"], timeout=120)
        raise
    out = flux_step_times_out(env, "external-secrets", stack)
    assert f"Secrets present, waiting for qa1/{name}" in out, out[-4000:]
    # ESO back: the next run nudges it, waits until the Secret is written again, with moto's values
    fixed = run_playbook("playbooks/flux.yml", limit="local", env=env, local_flavour=None)
    assert fixed.returncode == 0, fixed.stdout[-4000:]
    data = kget(kube, "secret", name, "-n", "qa1")["data"]
    assert {k: base64.b64decode(v).decode() for k, v in data.items()} == secret_values(env)[key]
