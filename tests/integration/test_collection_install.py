"""The built collection is what a user installs: `ansible-galaxy collection build` leaves out development
tooling, caches and local-stack state, the tarball installs into a clean collections path, and site.yml -l local
runs from the installed copy (not from this checkout) against the local stack."""
from __future__ import annotations

import os
import subprocess
import tarfile
from pathlib import Path

import pytest
import yaml

from tests.support.helpers import REPO, VENV_BIN, local_flavour_args, recap

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def tarball(tmp_path_factory):
    # CI's `collection` stage (make collection) names the tarball it built: that one is the one tested.
    built = os.environ.get("TIDEPOOL_COLLECTION_TARBALL")
    if built:
        path = Path(built)
        assert path.is_file(), f"TIDEPOOL_COLLECTION_TARBALL={built} does not exist (make collection builds it)"
        return path
    out = tmp_path_factory.mktemp("build")
    subprocess.run([str(VENV_BIN / "ansible-galaxy"), "collection", "build", "--force", "--output-path", str(out),
                    str(REPO)], check=True, capture_output=True, text=True)
    version = yaml.safe_load((REPO / "galaxy.yml").read_text())["version"]
    path = out / f"tidepool-eks-{version}.tar.gz"
    assert path.is_file()
    return path


def test_tarball_leaves_out_tooling_caches_and_state(tarball):
    with tarfile.open(tarball) as tar:
        names = tar.getnames()
    assert {"MANIFEST.json", "FILES.json", "site.yml", "plugins/modules/external_secret.py",
            "roles/config/tasks/main.yml", "inventories/hosts.yml", "meta/runtime.yml",
            "meta/execution-environment.yml"} <= set(names)
    for unwanted in (".venv", ".collections", ".git", ".cache", ".pytest_cache", "tests/output", "scripts",
                     "benchmarks", "tests/integration", "tests/unit", "__pycache__"):
        assert not [n for n in names if n == unwanted or n.startswith(unwanted + "/") or f"/{unwanted}/" in f"/{n}"], \
            unwanted
    assert not [n for n in names if n.endswith((".pyc", ".tar.gz"))]


def test_installed_collection_runs_site_local(tarball, tmp_path, local_stack_env):
    collections = tmp_path / "collections"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    # Only the clean path and the pinned `ansible` package's bundled collections (the dependencies; --no-deps);
    # cwd outside this checkout so its ansible.cfg (collections_path ./.collections) plays no part.
    env.update(local_stack_env, ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_NOCOLOR="1",
               PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}")
    subprocess.run([str(VENV_BIN / "ansible-galaxy"), "collection", "install", "--no-deps", "-p", str(collections),
                    str(tarball)], check=True, capture_output=True, text=True, cwd=tmp_path, env=env)
    installed = collections / "ansible_collections" / "tidepool" / "eks"
    assert (installed / "site.yml").is_file() and not (installed / ".collections").exists()
    cmd = [str(VENV_BIN / "ansible-playbook"), str(installed / "site.yml"),
           "-i", str(installed / "inventories" / "hosts.yml"), "-l", "local", *local_flavour_args("local", None, 1)]
    run = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1200,
                         stdin=subprocess.DEVNULL)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert recap(run.stdout)["local"]["failed"] == 0
    # README "Using the playbooks from an installed collection": a step by its name (playbooks/config.yml of the
    # installed collection), in check mode with --diff, right after the converge: it runs and would change nothing
    step = subprocess.run([str(VENV_BIN / "ansible-playbook"), "tidepool.eks.config",
                           "-i", str(installed / "inventories" / "hosts.yml"), "-l", "local", "--check", "--diff",
                           *local_flavour_args("local", None, 1)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    assert step.returncode == 0, step.stdout[-6000:] + step.stderr[-2000:]
    assert recap(step.stdout)["local"]["failed"] == 0 and recap(step.stdout)["local"]["changed"] == 0, step.stdout[-4000:]
    # tidepool.eks resolved from the clean path only (this checkout is not on it)
    listing = subprocess.run([str(VENV_BIN / "ansible-galaxy"), "collection", "list", "tidepool.eks"], cwd=tmp_path,
                             env=env, capture_output=True, text=True, check=True).stdout
    assert str(collections / "ansible_collections") in listing and str(REPO) not in listing
