"""Shared test helpers: run ansible-playbook / ansible the way a user does (subprocess, repo ansible.cfg)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("TIDEPOOL_EKS_SHARED", REPO.parent / "shared"))
VENV_BIN = Path(sys.executable).parent


#: Environment variables that point boto3 at an AWS endpoint or credentials.
AWS_ENV = ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
           "AWS_DEFAULT_PROFILE", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE",
           "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_WEB_IDENTITY_TOKEN_FILE")


def ansible_env(extra: dict | None = None, remove: tuple | list = ()) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in remove}
    env["ANSIBLE_CONFIG"] = str(REPO / "ansible.cfg")
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("ANSIBLE_NOCOLOR", "1")
    env.setdefault("ANSIBLE_FORCE_COLOR", "0")
    if extra:
        env.update({k: str(v) for k, v in extra.items()})
    return env


#: Extra variables that run the embedded default `local` (Flux v2 since issue 16) as the install guide's flavour 1:
#: Flux v1 syncing the git daemon's URL. The flavour-1 tests of the local stack keep their coverage with them
#: (run_playbook adds them for -l local unless local_flavour=None); the flavour-2 tests use the inventory as it is.
LOCAL_FLAVOUR1_VARS = {"flux_version": 1, "flux_git_url": "{{ config_repo_url }}"}


def local_flavour_args(limit: str | None, extra_vars: dict | None, local_flavour: int | None) -> list[str]:
    """``-e`` arguments pinning host `local` to flavour 1 (:data:`LOCAL_FLAVOUR1_VARS`), or none."""
    if local_flavour != 1 or limit != "local" or "flux_version" in (extra_vars or {}):
        return []
    return ["-e", json.dumps(LOCAL_FLAVOUR1_VARS)]


def run_playbook(playbook: str | Path, *, limit: str | None = None, extra_vars: dict | None = None,
                 check: bool = False, diff: bool = False, inventory: str | Path | None = None,
                 verbosity: int = 0, env: dict | None = None, args: list[str] | None = None,
                 timeout: int = 900, env_remove: tuple | list = (), local_flavour: int | None = 1
                 ) -> subprocess.CompletedProcess:
    """Run ansible-playbook from the repository root and return the completed process (text output).
    ``local_flavour``: 1 runs host `local` as flavour 1 (:func:`local_flavour_args`); None as its inventory says."""
    cmd = [str(VENV_BIN / "ansible-playbook"), str(playbook)]
    if inventory:
        cmd += ["-i", str(inventory)]
    if limit:
        cmd += ["-l", limit]
    cmd += local_flavour_args(limit, extra_vars, local_flavour)
    if extra_vars:
        cmd += ["-e", json.dumps(extra_vars)]
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    if verbosity:
        cmd.append("-" + "v" * verbosity)
    cmd += args or []
    return subprocess.run(cmd, cwd=REPO, env=ansible_env(env, env_remove), capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def recap(output: str) -> dict:
    """Parse the PLAY RECAP line(s) into {host: {"ok": n, "changed": n, "failed": n, ...}}."""
    stats = {}
    in_recap = False
    for line in output.splitlines():
        if line.startswith("PLAY RECAP"):
            in_recap = True
            continue
        if in_recap and ":" in line and "=" in line:
            host, _, rest = line.partition(":")
            stats[host.strip()] = {k: int(v) for k, v in (kv.split("=") for kv in rest.split())}
    return stats


def github_api(git_server, method: str, path: str, body=None):
    """One request to the local stack's GitHub-compatible API (``git_server.api_url``, token auth); the decoded
    JSON answer (None for an empty body). Raises urllib.error.HTTPError on 4xx/5xx."""
    req = urllib.request.Request(git_server.api_url.rstrip("/") + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Authorization": f"token {git_server.token}",
                                          "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read() or b"null")


#: moto's account: the local stack's AWS credentials are of it (inventories/values/local.yml names it).
MOTO_ACCOUNT = "123456789012"


def moto_aws(host: str = "test1") -> dict:
    """``host``'s values.yml ``aws`` block with moto's account, as an extra var for runs of a real-AWS host against
    the local stack (the preflight stops a run whose credentials are of another account than aws.accountNumber)."""
    import yaml

    values = yaml.safe_load((REPO / "inventories" / "values" / f"{host}.yml").read_text())
    return dict(values["aws"], accountNumber=MOTO_ACCOUNT)


def stop_flux_v2(kube) -> None:
    """Stop the Flux v2 sync of the session's stack after a flavour-2 run of `local` (``kube``: the conftest
    KubeStack), so later modules that push to the same repository are left alone: suspend the Kustomization and
    GitRepository ``flux-system`` (a suspended Kustomization's deletion prunes nothing), delete both and wait until
    they are gone. The Kustomizations ``flux-system`` applied (with the multi-tenancy lockdown: each environment's,
    the shared services', the ExternalSecrets') are suspended and deleted with it."""
    listed = kube.kubectl("-n", "flux-system", "get", "kustomization", "-o", "name", check=False)
    names = [n.split("/", 1)[1] for n in listed.stdout.split()] if listed.returncode == 0 else []
    objects = [("kustomization", n) for n in names or ["flux-system"]] + [("gitrepository", "flux-system")]
    for kind, name in objects:
        kube.kubectl("-n", "flux-system", "patch", kind, name, "--type=merge", "-p",
                     '{"spec":{"suspend":true}}', check=False)
    for kind, name in objects:
        kube.kubectl("-n", "flux-system", "delete", kind, name, "--ignore-not-found", "--wait=true",
                     "--timeout=100s")
    uninstall_helm_releases(kube)


def uninstall_helm_releases(kube) -> None:
    """Delete every HelmRelease (``helm.toolkit.fluxcd.io``) of the session's stack and wait until helm-controller has
    uninstalled each release: the Helm records a flavour-2 run leaves (``sh.helm.release.v1.qa1-tidepool.*``) would
    otherwise tell a later module's migration preflight that Tiller's releases were converted."""
    listed = kube.kubectl("get", "helmreleases.helm.toolkit.fluxcd.io", "-A", "-o", "name", check=False)
    if listed.returncode == 0 and listed.stdout.strip():
        kube.kubectl("delete", "helmreleases.helm.toolkit.fluxcd.io", "--all", "-A", "--wait=true", "--timeout=180s")


def remove_flavour2_objects(kube, cluster: str = "local", timeout: float = 300.0) -> list[str]:
    """Return the session's stack to a cluster that never ran flavour 2, for a module that starts from flavour 1
    (the migration): when any External Secrets Operator ExternalSecret or SecretStore is left (a flavour-2 module ran
    earlier: its teardown stops the Flux sync but prunes nothing, so ESO would take the Secrets over again), stop
    the Flux v2 sync and delete every namespace labelled ``tidepool.org/cluster=<cluster>``, waiting until they are
    gone (``timeout`` seconds, then AssertionError naming what is left). Returns the namespaces deleted ([] when
    nothing of flavour 2 was there). A kubectl failure fails the test (KubeStack.get)."""
    left = [o for kind in ("externalsecrets.external-secrets.io", "secretstores.external-secrets.io")
            for o in (kube.get(kind, "-A") or {}).get("items", [])]
    if not left:
        return []
    stop_flux_v2(kube)
    names = sorted(n["metadata"]["name"] for n in kube.get("namespaces", "-l", f"tidepool.org/cluster={cluster}")["items"])
    if names:
        kube.kubectl("delete", "namespace", *names, "--wait=false")
        wait_for(f"namespaces {names} deleted",
                 lambda: not kube.get("namespaces", "-l", f"tidepool.org/cluster={cluster}")["items"], timeout,
                 lambda: kube.kubectl("get", "namespaces", "-l", f"tidepool.org/cluster={cluster}", check=False).stdout)
    return names


def wait_for(what: str, check, timeout: float = 60.0, on_timeout=lambda: ""):
    """``check()``'s first truthy value, polled every 0.5 s; AssertionError naming ``what`` (and ``on_timeout()``'s
    text) after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"{what}: not within {timeout:.0f}s\n{on_timeout()}")
