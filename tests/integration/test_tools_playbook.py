"""playbooks/tools.yml, the playbook docs/tools.md tells the operator to run (`ansible-playbook playbooks/tools.yml
-l test1`), with the repository's inventory: its play selects the group `clusters` (or the AWX survey's
``tidepool_cluster``), and the tools role installs from a local HTTP mirror on 127.0.0.1 (``tools_mirror_url``)
serving test artifacts pinned by ``tools_pins``. test_tools_role.py covers the role alone on `localhost,`."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.integration.test_tools_role import PLATFORM, mirror, publish, script, tar_gz  # noqa: F401  (fixture)
from tests.support.helpers import REPO, recap, run_playbook

pytestmark = pytest.mark.integration

PLAYBOOK = REPO / "playbooks" / "tools.yml"


def pins(root, helm_sha=None):
    """Pins of jq and helm (an archive member), both published on the mirror; ``helm_sha`` replaces helm's sha256."""
    jq_real = publish(root, "jq", "1.7.1", "jq-linux-amd64", script("jq-1.7.1"))
    helm_real = publish(root, "helm", "v3.14.4", "helm-v3.14.4-linux-amd64.tar.gz",
                        tar_gz("linux-amd64/helm", script("v3.14.4+gdeadbee")))
    return [
        {"name": "jq", "version": "1.7.1", "version_command": ["jq", "--version"], "platforms": {PLATFORM: {
            "url": "https://upstream.invalid/jq/jq-linux-amd64", "sha256": jq_real}}},
        {"name": "helm", "version": "v3.14.4", "version_command": ["helm", "version", "--short"], "platforms": {
            PLATFORM: {"url": "https://upstream.invalid/helm/helm-v3.14.4-linux-amd64.tar.gz",
                       "member": "linux-amd64/helm", "sha256": helm_sha or helm_real}}},
    ]


def play(bindir, url, tool_pins, *, limit="test1", check=False, extra=None):
    """The real playbook with the repository's inventory (ansible.cfg's), as docs/tools.md runs it."""
    return run_playbook(PLAYBOOK, limit=limit, check=check, local_flavour=None, timeout=300, extra_vars={
        "tools_bin_dir": str(bindir), "tools_mirror_url": url, "tools_platform": PLATFORM, "tools_pins": tool_pins,
        "tools_install": ["helm"], **(extra or {})})


def installed(bindir):
    return sorted(p.name for p in bindir.iterdir()) if bindir.exists() else []


def test_playbook_installs_the_requested_tool_once_for_the_limited_host(mirror, tmp_path):
    root, url = mirror
    bindir = tmp_path / "bin"
    tool_pins = pins(root)

    checked = play(bindir, url, tool_pins, check=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert recap(checked.stdout)["test1"]["changed"] >= 1, checked.stdout
    assert installed(bindir) == []  # check mode downloads nothing into tools_bin_dir

    first = play(bindir, url, tool_pins)
    assert first.returncode == 0, first.stdout + first.stderr
    assert set(recap(first.stdout)) == {"test1"}, first.stdout  # -l test1: one host of `clusters`, not all three
    assert installed(bindir) == ["helm"]  # tools_install: helm only, jq stays out
    helm = bindir / "helm"
    assert helm.stat().st_mode & 0o777 == 0o755
    version = subprocess.run([helm, "version", "--short"], capture_output=True, text=True, check=True)
    assert version.stdout.strip() == "v3.14.4+gdeadbee"

    second = play(bindir, url, tool_pins)
    assert second.returncode == 0, second.stdout + second.stderr
    assert recap(second.stdout)["test1"]["changed"] == 0, second.stdout


def test_awx_survey_cluster_selects_one_host(mirror, tmp_path):
    """AWX runs the playbook without -l and passes the survey's tidepool_cluster: that host alone runs it."""
    root, url = mirror
    bindir = tmp_path / "bin"
    result = play(bindir, url, pins(root), limit=None, extra={"tidepool_cluster": "test2"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert set(recap(result.stdout)) == {"test2"}, result.stdout
    assert installed(bindir) == ["helm"]


def test_checksum_mismatch_installs_nothing(mirror, tmp_path):
    root, url = mirror
    bindir = tmp_path / "bin"
    result = play(bindir, url, pins(root, helm_sha="0" * 64))
    assert result.returncode != 0
    assert recap(result.stdout)["test1"]["failed"] == 1, result.stdout
    failed = result.stdout.split("helm: download and verify", 1)[-1]
    assert re.search(r"did not match\s+0{64}", failed), result.stdout  # get_url names the pinned sha256
    assert installed(bindir) == []  # no helm, no partial file
    tmp = re.search(r"dest: (\S*/tidepool-tools-[^/\s]+)/", failed)
    assert tmp and not Path(tmp.group(1)).exists(), result.stdout  # the download's temporary directory is removed


def test_without_a_limit_the_tools_are_installed_once_not_once_per_host(mirror, tmp_path):
    """Every host of `clusters` is this controller (connection local): the play runs once (run_once), so one host
    downloads and installs, instead of three at the same time into one directory."""
    root, url = mirror
    bindir = tmp_path / "bin"
    result = play(bindir, url, pins(root), limit=None)
    assert result.returncode == 0, result.stdout + result.stderr
    task = result.stdout.split("helm: download and verify", 1)[1].split("TASK [", 1)[0]
    assert len(re.findall(r"^(?:ok|changed): \[", task, re.M)) == 1, task
    assert installed(bindir) == ["helm"]
