"""Disaster recovery (docs/howto/disaster-recovery.md): the cluster's state is lost, the config repository and
Secrets Manager are not. On a private local stack: `site.yml -l local` (flavour 2) converges; every Secret of the
cluster, every Secrets Manager value with its VersionId, the namespaces, the HelmReleases and the deploy keys are
recorded; etcd's data is deleted with the kube, nodes and GitOps groups stopped (Stack.wipe_etcd: certificates, git
repositories, moto's recording and the fake GitHub stay) and the cluster starts empty; the documented recovery
(remove the lost cluster's kube-system UID from the config repository, then one `site.yml -l local` run) is timed;
then everything is compared with what was recorded.

This module starts a stack of its own (Stack.ephemeral, every group, stopped when the module ends) instead of the
session's GitOps fixture: the wipe must not touch what other modules left, and make test (scripts/run_tests.py)
can place it in either process."""
from __future__ import annotations

import base64
import gzip
import json
import subprocess
import time
from dataclasses import dataclass
from types import SimpleNamespace

import boto3
import pytest

import local_stack  # scripts/local_stack (tests/conftest.py puts it on sys.path)

from tests.conftest import CI, KubeStack
from tests.support.helpers import github_api, run_playbook

pytestmark = pytest.mark.integration

#: the namespaces an empty cluster has (the API server creates them)
SYSTEM_NAMESPACES = {"default", "kube-system", "kube-public", "kube-node-lease"}
HR = "helmreleases.helm.toolkit.fluxcd.io"
#: Flux's deploy key (flavour 2): it lives only in the cluster (roles/teardown/tasks/delete_cluster.yml says so), so a
#: rebuilt cluster gets a new one, which the flux step registers on the config repository
DEPLOY_KEY = "flux-system/flux-system"
#: the config repository of host `local` on the fake GitHub (github_repository in inventories/host_vars/local)
REPOSITORY = "/repos/tidepool/cluster-local/keys"


@dataclass
class Snapshot:
    namespaces: set[str]
    secrets: dict[str, dict]          # "<ns>/<name>" -> {"type", "data"} (data as the API server returns it: base64)
    external_secrets: set[str]        # "<ns>/<name>" of each ExternalSecret's target Secret
    releases: dict[str, dict]         # "<ns>/<name>" of each HelmRelease -> the object
    stored: dict[str, tuple]          # Secrets Manager: name -> (value, VersionId)
    deploy_keys: list[dict]           # the config repository's deploy keys on the fake GitHub
    head: str                         # the config repository's master


def _key(obj) -> str:
    return f"{obj['metadata']['namespace']}/{obj['metadata']['name']}"


def stored_values(env: dict) -> dict[str, tuple]:
    """Every secret of the stack's Secrets Manager: ``{name: (value, VersionId)}`` (this moto holds only `local`'s).
    ``env``: the stack's (its endpoint and test credentials; this module exports nothing to os.environ)."""
    sm = boto3.client("secretsmanager", endpoint_url=env["AWS_ENDPOINT_URL"], region_name=env["AWS_DEFAULT_REGION"],
                      aws_access_key_id=env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])
    out = {}
    for page in sm.get_paginator("list_secrets").paginate():
        for entry in page["SecretList"]:
            value = sm.get_secret_value(SecretId=entry["Name"])
            out[entry["Name"]] = (value.get("SecretString", value.get("SecretBinary")), value["VersionId"])
    return out


def snapshot(kube: KubeStack, stack) -> Snapshot:
    """What the cluster, Secrets Manager, the fake GitHub and the config repository hold now. Every question is asked
    through KubeStack.get: a kubectl failure fails the test, it never reads as "nothing there"."""
    secrets = {_key(s): {"type": s.get("type"), "data": s.get("data") or {}}
               for s in kube.get("secrets", "-A")["items"]}
    targets = {f"{e['metadata']['namespace']}/{(e['spec'].get('target') or {}).get('name') or e['metadata']['name']}"
               for e in kube.get("externalsecrets.external-secrets.io", "-A")["items"]}
    api = SimpleNamespace(api_url=stack.github_api_url, token=stack.token)
    head = subprocess.run(["git", "ls-remote", f"{stack.git_url}cluster-local.git", "refs/heads/master"],
                          capture_output=True, text=True, check=True, timeout=60).stdout.split()
    return Snapshot(namespaces={n["metadata"]["name"] for n in kube.get("namespaces")["items"]},
                    secrets=secrets, external_secrets=targets,
                    releases={_key(r): r for r in kube.get(HR, "-A")["items"]},
                    stored=stored_values(stack.env()), deploy_keys=github_api(api, "GET", REPOSITORY),
                    head=head[0] if head else "")


def condition(obj, kind="Ready") -> dict:
    return next((c for c in (obj.get("status") or {}).get("conditions") or [] if c["type"] == kind), {})


def helm_release(record: dict) -> dict:
    """The release a Helm record Secret (type helm.sh/release.v1) holds: base64 (the API's) of base64 of gzip'd JSON."""
    return json.loads(gzip.decompress(base64.b64decode(base64.b64decode(record["data"]["release"]))))


#: the secrets step's only task that creates values (roles/secrets/tasks/aws.yml): create-only, so on the recovery run
#: it must find every value already stored
GENERATE = "Store the generated secrets that do not exist yet (create-only, never rotated)"


def task_status(stdout: str, task: str) -> str:
    """``ok``, ``changed``, ``skipping``... of the first run of ``task`` (its result line after its TASK banner)."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("TASK [") and task in line)
    result = next(line for line in lines[start + 1:] if line.strip())
    return result.split(":", 1)[0]


#: where the config step records the cluster's identity (cluster_provider existing without kubernetes_api_server;
#: roles/config/tasks/main.yml): a rebuilt cluster has a new kube-system UID, and the preflight refuses it until the
#: file is removed (the recovery's step for such clusters; docs/howto/troubleshooting.md)
UID_FILE = "clusters/local/kube-system-uid"


def forget_the_recorded_uid(stack, workdir) -> None:
    """The how-to's step for a `cluster_provider: existing` cluster: remove the lost cluster's kube-system UID from
    the config repository (clone, git rm, commit, push), so the next run records the new cluster's."""
    def git(*args):
        return subprocess.run(["git", *args], cwd=workdir, check=True, capture_output=True, text=True, timeout=60)
    git("clone", "-q", f"{stack.git_url}cluster-local.git", ".")
    git("-c", "user.name=operator", "-c", "user.email=operator@example.com", "rm", "-q", UID_FILE)
    git("-c", "user.name=operator", "-c", "user.email=operator@example.com", "commit", "-q", "-m",
        "local rebuilt: forget the lost cluster's kube-system UID")
    git("push", "-q", "origin", "HEAD:master")


def changed_paths(stack, workdir, old: str, new: str) -> list[str]:
    """Paths that differ between two commits of the config repository."""
    subprocess.run(["git", "fetch", "-q", f"{stack.git_url}cluster-local.git", "master"], cwd=workdir, check=True,
                   timeout=60)
    return subprocess.run(["git", "diff", "--name-only", old, new], cwd=workdir, check=True, capture_output=True,
                          text=True, timeout=60).stdout.split()


def site(env: dict) -> tuple[subprocess.CompletedProcess, float]:
    t0 = time.monotonic()
    res = run_playbook("site.yml", limit="local", env=env, local_flavour=None)
    took = time.monotonic() - t0
    assert res.returncode == 0, res.stdout[-8000:] + res.stderr[-2000:]
    return res, took


@pytest.fixture(scope="module")
def own_stack(tmp_path_factory):
    """A whole local stack of this module's own (every group, free ports), always stopped at the end."""
    missing = local_stack.Stack.default().missing_binaries(None)
    if missing:
        reason = ("the local stack's binaries are not built (run `scripts/local-stack build local`): "
                  + ", ".join(missing))
        if CI:
            pytest.fail(f"CI=true: {reason}", pytrace=False)
        pytest.skip(reason)
    stack = local_stack.Stack.ephemeral(tmp_path_factory.mktemp("disaster-recovery") / "stack")
    try:
        stack.up()
        yield stack
    finally:
        stack.down()


@pytest.fixture(scope="module")
def drill(own_stack, tmp_path_factory):
    """Converge, record, wipe etcd, record the empty cluster, recover (timed), record again."""
    stack = own_stack
    env = stack.env()
    kube = KubeStack(kubeconfig=stack.kubeconfig, server=stack.apiserver_url,
                     kubectl_bin=stack.binaries()["kubectl"], stack=stack)
    first, converge = site(env)
    before = snapshot(kube, stack)

    t0 = time.monotonic()
    api_users = ["kube", "nodes", "gitops"]
    stack.down(api_users)
    assert stack.wipe_etcd(), f"no etcd data in {stack.etcd_data}"
    assert (stack.pki.is_dir() and stack.kubeconfig.is_file() and stack.moto_recording.is_file()
            and (stack.git_root / "cluster-local.git").is_dir())
    stack.up(api_users)
    restart = time.monotonic() - t0
    wiped = snapshot(kube, stack)

    # without the how-to's UID step the preflight refuses the rebuilt cluster before anything changes
    refused = run_playbook("site.yml", limit="local", env=env, local_flavour=None)
    untouched = snapshot(kube, stack)
    # the documented recovery: forget the recorded UID, then the same command as the first run
    workdir = tmp_path_factory.mktemp("config-repo")
    t0 = time.monotonic()
    forget_the_recorded_uid(stack, workdir)
    recovery, _ = site(env)
    took = time.monotonic() - t0
    after = snapshot(kube, stack)
    return SimpleNamespace(kube=kube, stack=stack, first=first, converge=converge, before=before, restart=restart,
                           wiped=wiped, refused=refused, untouched=untouched, recovery=recovery, took=took, after=after,
                           changed_paths=changed_paths(stack, workdir, before.head, after.head))


def test_the_wipe_left_an_empty_cluster_and_kept_secrets_manager_and_the_config_repository(drill):
    before, wiped = drill.before, drill.wiped
    assert wiped.namespaces <= SYSTEM_NAMESPACES, sorted(wiped.namespaces - SYSTEM_NAMESPACES)
    assert "qa1" in before.namespaces and "flux-system" in before.namespaces
    assert wiped.secrets == {} and wiped.releases == {} and wiped.external_secrets == set()
    assert wiped.stored == before.stored and wiped.head == before.head and wiped.deploy_keys == before.deploy_keys


def test_the_rebuilt_cluster_is_refused_until_the_recorded_uid_is_removed(drill):
    out = " ".join(drill.refused.stdout.split())
    assert drill.refused.returncode != 0, out[-3000:]
    assert "has the kube-system namespace UID" in out and "remove the recorded UID file" in out, out[-3000:]
    assert "nothing was changed" in out
    assert drill.untouched == drill.wiped  # nothing in the cluster, Secrets Manager, GitHub or the config repository


def test_the_recovery_run_reports_every_secret_byte_equal_and_every_release_ready(drill):
    out = " ".join(drill.recovery.stdout.split())  # the callback wraps long messages
    n = len(drill.after.external_secrets)
    assert f"Flux applied master@sha1:{drill.after.head}; {n} of {n} Secrets present, {n} of {n} byte-equal to " \
           "their values in Secrets Manager" in out, out[-4000:]
    r = len(drill.after.releases)
    assert f"{r} of {r} HelmReleases Ready" in out, out[-4000:]


def test_every_namespace_came_back(drill):
    missing = drill.before.namespaces - drill.after.namespaces
    assert missing == set()
    phases = {n["metadata"]["name"]: n["status"]["phase"] for n in drill.kube.get("namespaces")["items"]}
    assert {n: phases[n] for n in drill.before.namespaces if phases[n] != "Active"} == {}


def test_every_helmrelease_came_back_ready_with_the_same_chart_values_and_manifest(drill):
    before, after = drill.before, drill.after
    assert set(after.releases) == set(before.releases) and len(before.releases) >= 9
    for name, rel in after.releases.items():
        assert condition(rel).get("status") == "True", (name, condition(rel))
        assert rel["spec"] == before.releases[name]["spec"], name
    # helm's release records: the same revisions (one install each), with the same chart, values and rendered
    # objects; only their timestamps differ (the records are rebuilt by helm-controller's install)
    records = lambda snap: {k for k, s in snap.secrets.items() if s["type"] == "helm.sh/release.v1"}  # noqa: E731
    assert records(after) == records(before) and records(before)
    changed = []
    for name in sorted(records(before)):
        old, new = helm_release(before.secrets[name]), helm_release(after.secrets[name])
        for field in ("manifest", "config", "version", "namespace"):
            if old.get(field) != new.get(field):
                changed.append(f"{name}: {field}")
        if old["chart"]["metadata"] != new["chart"]["metadata"]:
            changed.append(f"{name}: chart")
        assert new["info"]["status"] == "deployed", name
    assert changed == []


def test_every_secret_came_back_byte_equal_and_only_the_deploy_key_is_new(drill):
    before, after = drill.before, drill.after
    assert set(after.secrets) == set(before.secrets), (sorted(set(before.secrets) - set(after.secrets)),
                                                       sorted(set(after.secrets) - set(before.secrets)))
    assert before.external_secrets and after.external_secrets == before.external_secrets
    differ = sorted(k for k, s in before.secrets.items()
                    if s["type"] != "helm.sh/release.v1" and after.secrets[k] != s)
    # helm's records are compared by content above; Flux's deploy key is the one Secret the cluster made itself
    assert differ == [DEPLOY_KEY], differ
    for name in before.external_secrets:  # every Secret ESO wrote, byte for byte, also against Secrets Manager
        assert after.secrets[name] == before.secrets[name], name
    stored = {k: json.loads(v) for k, (v, _) in after.stored.items() if isinstance(v, str) and v.startswith("{")}
    read = 0
    for es in drill.kube.get("externalsecrets.external-secrets.io", "-A")["items"]:
        key = es["spec"]["data"][0]["remoteRef"]["key"]
        data = after.secrets[f"{es['metadata']['namespace']}/{es['spec']['target']['name']}"]["data"]
        assert {k: base64.b64decode(v).decode() for k, v in data.items()} == stored[key], key
        read += 1
    assert read == len(after.external_secrets)


def test_no_value_in_secrets_manager_was_regenerated(drill):
    before, after = drill.before, drill.after
    assert before.stored and set(after.stored) == set(before.stored)
    assert {k: v[1] for k, v in after.stored.items()} == {k: v[1] for k, v in before.stored.items()}  # VersionIds
    assert after.stored == before.stored
    # nothing re-rendered: the config repository's only change is the new cluster's kube-system UID
    assert drill.changed_paths == [UID_FILE]
    assert task_status(drill.first.stdout, GENERATE) == "changed"  # the first run generated them
    assert task_status(drill.recovery.stdout, GENERATE) == "ok"    # the recovery found every one stored


def test_the_rebuilt_cluster_s_new_deploy_key_replaces_the_lost_one(drill):
    """The run registers the rebuilt cluster's key and deletes the lost cluster's (same title, flux role
    flux_deploy_key_supersede): no key whose private half died with the cluster keeps access."""
    before, after = drill.before, drill.after
    public = base64.b64decode(after.secrets[DEPLOY_KEY]["data"]["identity.pub"]).decode().split()[:2]
    old = base64.b64decode(before.secrets[DEPLOY_KEY]["data"]["identity.pub"]).decode().split()[:2]
    assert public != old
    titled = [k for k in after.deploy_keys if k["title"] == "flux key for local"]
    assert [k["key"].split()[:2] for k in titled] == [public], titled
    assert not [k for k in after.deploy_keys if k["key"].split()[:2] == old]
    # keys of other titles are not touched
    others = lambda keys: sorted(k["id"] for k in keys if k["title"] != "flux key for local")  # noqa: E731
    assert others(after.deploy_keys) == others(before.deploy_keys)


def test_the_recovery_time(drill, capsys):
    with capsys.disabled():
        print(f"\ndisaster recovery: {drill.took:.1f} s (the recorded UID removed, then site.yml -l local on the empty "
              f"cluster until every Secret is byte-equal and every HelmRelease Ready); first converge "
              f"{drill.converge:.1f} s; wipe + restart of the kube, nodes and GitOps groups {drill.restart:.1f} s; "
              f"{len(drill.after.namespaces)} namespaces, "
              f"{len(drill.after.releases)} HelmReleases, {len(drill.after.secrets)} Secrets "
              f"({len(drill.after.external_secrets)} from Secrets Manager)")
    assert drill.took > 0
