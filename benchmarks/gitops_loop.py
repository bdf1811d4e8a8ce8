#!/usr/bin/env python3
"""Benchmark: the GitOps loop on the local stack (Flux v2 source-/kustomize-controller + the External Secrets
Operator), from ``git push`` to what the cluster shows, with 1 and with N Tidepool environments (default 20).

For each size, against a local stack of its own (temporary directory, free loopback ports, stopped at the end):

1. converge ``site.yml -l local`` (flavour 2) with the environments (not timed; printed);
2. **remove**: push one commit that deletes every environment's files from the Flux path (what a run after
   removing them from the inventory commits), request a reconcile the way ``flux reconcile kustomization
   --with-source`` does (the ``reconcile.fluxcd.io/requestedAt`` annotation on the GitRepository and the
   Kustomization, no waiting for an interval), and time: the source fetched the commit, the Kustomization applied
   it (pruning), every environment namespace gone (kube-controller-manager's namespace deletion);
3. **restore**: run ``site.yml -l local`` with the environments back (the way an operator adds one) and time, from
   the moment the run's commit reaches the remote: Flux fetched and applied it, every ExternalSecret's Secret present
   (ESO reading moto's Secrets Manager through each namespace's SecretStore). A bare ``git revert`` is not enough:
   the SecretStores' service accounts come back from Flux without the ``eks.amazonaws.com/role-arn`` annotation,
   which the run's secrets step adds (``irsa_roles`` on the local stack; eksctl on EKS), so the Secrets wait for
   that step. The run's own wait (``flux_wait``) requests the reconcile;
4. **platform**: from the same push, until every HelmRelease is Ready at its current spec (helm-controller installed
   the chart of each restored environment from the stack's chart repository) and every Deployment / StatefulSet of
   the releases is Available on the kwok nodes (kube-scheduler bound the pods, kwok ran them): the whole platform.
   The stack gets enough kwok nodes for the environments' pods (:func:`nodes_for`).

Prints the figures and where the time goes (Flux fetch, Flux apply, namespace finalisation / ESO sync).
Targets of issue 16: every Secret within 15 s of the push with 20 environments; a removed environment's namespace
gone within 30 s. Issue 26: the whole platform Ready within 120 s of the push with 20 environments.

    .venv/bin/python benchmarks/gitops_loop.py              # 1 and 20 environments
    .venv/bin/python benchmarks/gitops_loop.py -n 5 --json

Not a test: nothing asserts on the timings. Figures: benchmarks/README.md.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(REPO / ".collections"))
sys.path.insert(0, str(REPO))

from benchmarks.pipeline_noop import environments  # noqa: E402
from tests.support.helpers import recap, run_playbook  # noqa: E402
import local_stack  # noqa: E402
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v2 import wait as flux_wait  # noqa: E402
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v2 import release_health  # noqa: E402

CLUSTER = "local"
FLUX_PATH = f"clusters/{CLUSTER}/flux"
TIMEOUT = 300.0


class Cluster:
    """The few reads and writes the benchmark makes, with the kubernetes client (the stack's admin kubeconfig)."""

    def __init__(self, kubeconfig: str):
        from kubernetes import client, config, dynamic
        self.api = dynamic.DynamicClient(config.new_client_from_config(config_file=kubeconfig))
        self.core = client.CoreV1Api(self.api.client)

    def get(self, api_version, kind, namespace, name):
        try:
            return self.api.resources.get(api_version=api_version, kind=kind).get(
                name=name, namespace=namespace).to_dict()
        except Exception:  # pylint: disable=broad-except  # NotFound or a CRD not served yet: not there
            return None

    def annotate(self, api_version, kind, namespace, name, key, value):
        self.api.resources.get(api_version=api_version, kind=kind).patch(
            name=name, namespace=namespace, body={"metadata": {"annotations": {key: value}}},
            content_type="application/merge-patch+json")

    def external_secrets(self) -> list:
        return self.api.resources.get(api_version=flux_wait.EXTERNAL_SECRET[0],
                                      kind=flux_wait.EXTERNAL_SECRET[1]).get().to_dict()["items"]

    def secret_exists(self, namespace, name) -> bool:
        return bool(self.core.list_namespaced_secret(namespace, field_selector=f"metadata.name={name}").items)

    def namespaces(self) -> set[str]:
        return {ns.metadata.name for ns in self.core.list_namespace().items}

    def items(self, api_version, kind) -> list:
        try:
            return self.api.resources.get(api_version=api_version, kind=kind).get().to_dict()["items"]
        except Exception:  # pylint: disable=broad-except  # the kind is not served (no helm-controller CRDs)
            return []

    def platform(self) -> tuple[dict, dict]:
        """(:func:`release_health.releases_state`, :func:`release_health.workloads_state`) of the cluster now."""
        releases = self.items(*release_health.HELM_RELEASE)
        loads = [o for kind in release_health.WORKLOAD_KINDS for o in self.items(*kind)]
        return (release_health.releases_state(releases),
                release_health.workloads_state(release_health.release_workloads(releases, loads)))

    def releases_ready(self) -> bool:
        state = release_health.releases_state(self.items(*release_health.HELM_RELEASE))
        if state["failed"]:
            sys.exit("a HelmRelease failed: " + "; ".join(state["failed"][:3]))
        return state["total"] > 0 and not state["pending"]

    def platform_ready(self) -> bool:
        releases, loads = self.platform()
        return releases["total"] > 0 and not releases["pending"] and not releases["failed"] \
            and not loads["unavailable"]


#: Pods of one environment on the stack (chart 0.26.0 with local's values: 23 Deployments, some with 2 replicas) and
#: of the shared services, with room to spare; a kwok node takes 110 pods (nodes.NODE_CAPACITY).
PODS_PER_ENVIRONMENT, SHARED_PODS, PODS_PER_NODE = 30, 40, 110


def nodes_for(n: int) -> int:
    """kwok nodes the platform of ``n`` environments needs (at least the stack's 3)."""
    return max(3, -(-(n * PODS_PER_ENVIRONMENT + SHARED_PODS) // PODS_PER_NODE))


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def until(what: str, check, t0: float) -> float:
    """Seconds from ``t0`` until ``check()`` is true (polled every 0.1 s); exits with a message after TIMEOUT."""
    while not check():
        if time.monotonic() - t0 > TIMEOUT:
            sys.exit(f"timed out after {TIMEOUT:.0f}s waiting for: {what}")
        time.sleep(0.1)
    return time.monotonic() - t0


def kustomizations_applied(kube: Cluster, commit: str) -> bool:
    """Every other Kustomization of the config repository (the tenants' ones ``flux-system`` applies, chained by
    ``dependsOn``: tenancy.py) at ``commit``, judged as the flux role's wait judges it
    (:func:`flux_wait.kustomizations_state`); exits with Flux's message when one failed."""
    state, text = flux_wait.kustomizations_state(kube.items(*flux_wait.KUSTOMIZATION), commit)
    if state == "failed":
        sys.exit(f"Flux did not apply {commit[:12]}: {text}")
    return state == "applied"


def push_and_time(kube: Cluster, clone: Path, message: str, done: dict, tenants: bool = True) -> dict:
    """Commit what is staged in ``clone``, push, request the reconcile; seconds from the push to: the source at
    the commit (``fetched``), the Kustomization applied (``applied``), every Kustomization at the commit (``tenants
    applied``: the per-namespace Kustomizations ``flux-system`` applies, in their ``dependsOn`` order; not with
    ``tenants=False``), then each check of ``done`` (name -> callable), in order."""
    git(clone, "commit", "-q", "-m", message)
    commit = git(clone, "rev-parse", "HEAD")
    t0 = time.monotonic()
    git(clone, "push", "-q", "origin", "HEAD")
    token = flux_wait.request_token(commit, time.time())
    for api_version, kind in (flux_wait.SOURCE, flux_wait.KUSTOMIZATION):
        kube.annotate(api_version, kind, flux_wait.NAMESPACE, flux_wait.NAME, flux_wait.REQUESTED_AT, token)
    out = {"push": round(time.monotonic() - t0, 2)}

    def fetched():
        source = kube.get(*flux_wait.SOURCE, flux_wait.NAMESPACE, flux_wait.NAME) or {}
        return flux_wait.same_commit(((source.get("status") or {}).get("artifact") or {}).get("revision"), commit)

    def applied():
        kustomization = kube.get(*flux_wait.KUSTOMIZATION, flux_wait.NAMESPACE, flux_wait.NAME)
        state, text = flux_wait.kustomization_state(kustomization, kube.get(*flux_wait.SOURCE, flux_wait.NAMESPACE,
                                                                             flux_wait.NAME), commit)
        if state == "failed":
            sys.exit(f"Flux did not apply {commit[:12]}: {text}")
        return state == "applied"

    out["fetched"] = round(until(f"GitRepository at {commit[:12]}", fetched, t0), 2)
    out["applied"] = round(until(f"Kustomization applied {commit[:12]}", applied, t0), 2)
    if tenants:
        out["tenants applied"] = round(until(f"every Kustomization at {commit[:12]}",
                                             lambda: kustomizations_applied(kube, commit), t0), 2)
    for name, check in done.items():
        out[name] = round(until(name, check, t0), 2)
    return out


def site(env: dict, extra: Path):
    res = run_playbook("site.yml", limit="local", env=env, args=["-e", f"@{extra}"], timeout=3600,
                       local_flavour=None)
    if res.returncode:
        sys.exit(f"site.yml failed:\n{res.stdout[-5000:]}\n{res.stderr[-2000:]}")
    return res


def restore_with_playbook(kube: Cluster, clone: Path, before: str, env: dict, extra: Path, secrets_present) -> dict:
    """Run site.yml in a thread; seconds from the run's start to its first commit on the remote (``push``), and
    from that push to: the source at a new commit (``fetched``), the Kustomization at the run's last commit
    (``applied``; the run pushes the config commit, then the secrets step's), every Secret present; the run's own
    length (``run``)."""
    result: dict = {}

    def run():
        try:
            result["res"] = site(env, extra)
        except BaseException as exc:  # noqa: BLE001 - SystemExit from site() ends the thread silently otherwise
            result["error"] = exc

    runner = threading.Thread(target=run, daemon=True)
    old = set(git(clone, "rev-list", before).split())
    start = time.monotonic()
    runner.start()

    def remote_head() -> str:
        return git(clone, "ls-remote", "origin", "HEAD").split()[0]

    def check(condition):
        if "error" in result:
            sys.exit(f"site.yml failed: {result['error']}")
        return condition()

    out = {"push": round(until("the run's commit on the remote", lambda: check(lambda: remote_head() not in old),
                               start), 2)}
    t0 = time.monotonic()

    def fetched():
        source = kube.get(*flux_wait.SOURCE, flux_wait.NAMESPACE, flux_wait.NAME) or {}
        sha = flux_wait.revision_sha(((source.get("status") or {}).get("artifact") or {}).get("revision"))
        return bool(sha) and sha not in old

    def applied():
        if runner.is_alive():
            return False
        return flux_wait.check_applied(kube.get(*flux_wait.KUSTOMIZATION, flux_wait.NAMESPACE, flux_wait.NAME),
                                       remote_head())

    out["fetched"] = round(until("GitRepository at the run's commit", lambda: check(fetched), t0), 2)
    out["applied"] = round(until("Kustomization at the run's last commit", lambda: check(applied), t0), 2)
    out["secrets present"] = round(until("every Secret present", lambda: check(secrets_present), t0), 2)
    out["releases ready"] = round(until("every HelmRelease Ready", lambda: check(kube.releases_ready), t0), 2)
    out["platform ready"] = round(until("every workload Available", lambda: check(kube.platform_ready), t0), 2)
    runner.join()
    out["run"] = round(time.monotonic() - start, 2)
    releases, loads = kube.platform()
    out["releases"], out["workloads"] = releases["total"], loads["total"]
    return out


def measure(n: int, env: dict, tmp: Path) -> dict:
    extra = tmp / f"envs-{n}.json"
    names = sorted(environments(n))
    extra.write_text(json.dumps({"environments": environments(n)}))
    t0 = time.monotonic()
    res = site(env, extra)
    print(f"  {n} environment(s): converge {time.monotonic() - t0:.1f}s "
          f"(changed={recap(res.stdout).get(CLUSTER, {}).get('changed')})", flush=True)

    kube = Cluster(env["KUBECONFIG"])
    clone = tmp / f"clone-{n}"
    git(tmp, "clone", "-q", env["TIDEPOOL_GIT_HTTP_URL"] + f"cluster-{CLUSTER}.git", str(clone))
    for key, value in (("user.name", "benchmark"), ("user.email", "benchmark@example.com")):
        git(clone, "config", key, value)
    files = git(clone, "ls-files", FLUX_PATH).splitlines()
    gone = [f for f in files if any(part in names for part in Path(f).relative_to(FLUX_PATH).parts[:-1])]
    if not gone:
        sys.exit(f"no file of the environments {names} under {FLUX_PATH}: is `local` on flux_version 2?")
    secrets_before = len(kube.external_secrets())

    def secrets_present():
        present, total, missing = flux_wait.secrets_state(kube.external_secrets(), kube.secret_exists)
        return total >= secrets_before and not missing

    # The loop alone: the ExternalSecret manifests out and back in by git push (namespaces, SecretStores and their
    # annotated service accounts stay), Secrets gone (owner: the ExternalSecret) and written again by ESO.
    manifests = [f for f in files if "kind: ExternalSecret" in (clone / f).read_text()]
    targets = [flux_wait.secret_name(es) for es in kube.external_secrets()]
    git(clone, "rm", "-q", *manifests)
    # Each namespace's ExternalSecrets are applied by their own Kustomization (tenants/external-secrets/, flavour 2's
    # multi-tenancy): a directory left without files would fail it ("path not found") and prune nothing, so the
    # emptied directories keep an empty kustomization.yaml (what `flux` applies as "no objects": everything pruned).
    for directory in sorted({str(Path(f).parent) for f in manifests}):
        if not (clone / directory).exists() or not any((clone / directory).iterdir()):
            (clone / directory).mkdir(parents=True, exist_ok=True)
            (clone / directory / "kustomization.yaml").write_text(
                "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: []\n")
            git(clone, "add", f"{directory}/kustomization.yaml")
    dropped = push_and_time(kube, clone, f"benchmark: remove {len(manifests)} ExternalSecret(s)", {
        "ExternalSecrets gone": lambda: not kube.external_secrets(),
        "Secrets gone": lambda: not any(kube.secret_exists(ns, name) for ns, name in targets)})
    git(clone, "revert", "--no-edit", "--no-commit", "HEAD")
    synced = push_and_time(kube, clone, f"benchmark: restore {len(manifests)} ExternalSecret(s)", {
        "secrets present": secrets_present})
    print(f"  {n} environment(s): ExternalSecrets removed {dropped}, pushed back {synced}", flush=True)

    # What the config role commits without these environments (flavour 2's multi-tenancy): their tenants/ objects go
    # with them, the Kustomization applying their ExternalSecrets too, and the Flux path's kustomization.yaml stops
    # listing what is gone (a listed file that is missing fails the whole flux-system Kustomization).
    gone += [f for f in files if f not in gone and Path(f).parent.name == "external-secrets"
             and any(Path(f).stem.endswith(f"-{env}") for env in names)]
    git(clone, "rm", "-q", *gone)
    root = clone / FLUX_PATH / "kustomization.yaml"
    if root.exists():
        doc = yaml.safe_load(root.read_text())
        kept = [r for r in doc.get("resources") or [] if (clone / FLUX_PATH / r).exists()]
        if kept != doc.get("resources"):
            header = "".join(ln + "\n" for ln in root.read_text().splitlines() if ln.startswith("#"))
            root.write_text(header + yaml.safe_dump(dict(doc, resources=kept), sort_keys=False))
            git(clone, "add", str(root.relative_to(clone)))
    removed = push_and_time(kube, clone, f"benchmark: remove {n} environment(s)", {
        "namespaces gone": lambda: not (set(names) & kube.namespaces())}, tenants=False)
    print(f"  {n} environment(s): removed ({len(gone)} files) {removed}", flush=True)

    head = git(clone, "rev-parse", "HEAD")
    restored = restore_with_playbook(kube, clone, head, env, extra, secrets_present)
    print(f"  {n} environment(s): restored ({secrets_before} ExternalSecrets) {restored}", flush=True)
    return {"n": n, "files": len(gone), "external_secrets": secrets_before, "secrets_out": dropped,
            "secrets_in": synced, "remove": removed, "restore": restored}


def describe(r: dict) -> str:
    rm, rs = r["remove"], r["restore"]
    si = r["secrets_in"]
    return (f"{r['n']:>3} env(s), {r['files']} files, {r['external_secrets']} ExternalSecrets\n"
            f"      git push (ExternalSecrets back) -> every Secret present: {si['secrets present']:.1f}s (fetch "
            f"{si['fetched']:.1f}s, apply {si['applied'] - si['fetched']:.1f}s, the namespaces' Kustomizations "
            f"(dependsOn) {si['tenants applied'] - si['applied']:.1f}s, ESO after the last of them "
            f"{si['secrets present'] - si['tenants applied']:.1f}s)\n"
            f"      site.yml run's first push -> every Secret present: {rs['secrets present']:.1f}s (first commit "
            f"fetched {rs['fetched']:.1f}s; the run's secrets step, its last commit applied and the run ended "
            f"{rs['applied']:.1f}s; ESO {rs['secrets present'] - rs['applied']:.1f}s; the whole run {rs['run']:.1f}s)\n"
            f"      site.yml run's first push -> whole platform Ready ({rs['releases']} HelmReleases, {rs['workloads']} "
            f"Deployments / StatefulSets Available): {rs['platform ready']:.1f}s (every HelmRelease Ready "
            f"{rs['releases ready']:.1f}s: source, dependencies, helm install; then scheduling and kwok's pods "
            f"{rs['platform ready'] - rs['releases ready']:.1f}s)\n"
            f"      environments removed -> namespaces gone: {rm['namespaces gone']:.1f}s (fetch {rm['fetched']:.1f}s, "
            f"apply+prune {rm['applied'] - rm['fetched']:.1f}s, namespace deletion "
            f"{rm['namespaces gone'] - rm['applied']:.1f}s)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=20, help="environments of the large run (default 20)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    parser.add_argument("--logs", type=Path, help="copy the stack's logs (controllers included) into this directory")
    parser.add_argument("--large-only", action="store_true", help="skip the 1-environment run")
    args = parser.parse_args()
    if local_stack.Stack.default().missing_binaries(None):
        sys.exit("local stack binaries missing: run `scripts/local-stack build` first")
    results = []
    for n in ((args.n,) if args.large_only else (1, args.n)):
        with tempfile.TemporaryDirectory(prefix="gitops-loop-") as tmp:
            stack = local_stack.Stack.ephemeral(Path(tmp) / "stack")
            print(f"starting a local stack of its own in {tmp} ({n} environment(s))", flush=True)
            stack.up()
            try:
                from local_stack import nodes
                nodes.ensure_nodes(stack, count=nodes_for(n))
                results.append(measure(n, dict(os.environ, **stack.env()), Path(tmp)))
            finally:
                stack.down()
                if args.logs:
                    dest = args.logs / f"{n}-environments"
                    shutil.copytree(stack.run, dest, dirs_exist_ok=True, ignore=shutil.ignore_patterns("*.sock"))
                    print(f"stack logs copied to {dest}", flush=True)
    print(f"\nGitOps loop on the local stack ({os.cpu_count()} CPUs; reconcile requested with requestedAt):")
    for r in results:
        print("  " + describe(r))
    print("  targets (issue 16): every Secret <= 15 s with 20 environments; namespace gone <= 30 s; "
          "(issue 26) whole platform Ready <= 120 s with 20 environments")
    if args.json:
        print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
