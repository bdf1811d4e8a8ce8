"""Role tidepool.eks.tools against a local HTTP server (the mirror) on 127.0.0.1 serving test artifacts."""
from __future__ import annotations

import functools
import hashlib
import http.server
import io
import re
import subprocess
import sys
import tarfile
import threading
from pathlib import Path

import pytest
import yaml

from tests.support.helpers import REPO, recap, run_playbook

pytestmark = pytest.mark.integration

PLAYBOOK = Path(__file__).parent / "playbooks" / "tools.yml"
PLATFORM = "linux-amd64"


def script(text: str) -> bytes:
    return f"#!/bin/sh\necho '{text}'\n".encode()


def tar_gz(member: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo(member)
        info.size, info.mode = len(data), 0o755
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.fixture
def mirror(tmp_path):
    """A mirror directory served on 127.0.0.1: <root>/<name>/<version>/<file>."""
    root = tmp_path / "mirror"
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def publish(root: Path, name: str, version: str, filename: str, data: bytes) -> str:
    path = root / name / version / filename
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def pins(root: Path, jq_sha=None, helm_sha=None):
    jq = script("jq-1.7.1")
    helm = tar_gz("linux-amd64/helm", script("v3.14.4+gdeadbee"))
    jq_real = publish(root, "jq", "1.7.1", "jq-linux-amd64", jq)
    helm_real = publish(root, "helm", "v3.14.4", "helm-v3.14.4-linux-amd64.tar.gz", helm)
    return [
        {"name": "jq", "version": "1.7.1", "version_command": ["jq", "--version"], "platforms": {PLATFORM: {
            "url": "https://upstream.invalid/jq/jq-linux-amd64", "sha256": jq_sha or jq_real}}},
        {"name": "helm", "version": "v3.14.4", "version_command": ["helm", "version", "--short"], "platforms": {
            PLATFORM: {"url": "https://upstream.invalid/helm/helm-v3.14.4-linux-amd64.tar.gz",
                       "member": "linux-amd64/helm", "sha256": helm_sha or helm_real}}},
    ]


def play(bindir, url, tool_pins, check=False):
    return run_playbook(PLAYBOOK, inventory="localhost,", check=check, args=["-c", "local"], extra_vars={
        "ansible_python_interpreter": sys.executable, "tools_bin_dir": str(bindir), "tools_mirror_url": url,
        "tools_platform": PLATFORM, "tools_pins": tool_pins})


def test_good_checksums_install_then_skip(mirror, tmp_path):
    root, url = mirror
    bindir = tmp_path / "bin"
    tool_pins = pins(root)

    checked = play(bindir, url, tool_pins, check=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert recap(checked.stdout)["localhost"]["changed"] >= 2
    assert not any(bindir.glob("*")) if bindir.exists() else True  # check mode installed nothing

    first = play(bindir, url, tool_pins)
    assert first.returncode == 0, first.stdout + first.stderr

    assert subprocess.run([bindir / "jq", "--version"], capture_output=True, text=True).stdout.strip() == "jq-1.7.1"
    assert "v3.14.4" in subprocess.run([bindir / "helm", "version", "--short"], capture_output=True, text=True).stdout
    assert (bindir / "helm").stat().st_mode & 0o111
    assert sorted(p.name for p in bindir.iterdir()) == ["helm", "jq"]

    second = play(bindir, url, tool_pins)
    assert second.returncode == 0 and recap(second.stdout)["localhost"]["changed"] == 0, second.stdout


def test_checksum_mismatch_fails_and_installs_nothing(mirror, tmp_path):
    root, url = mirror
    bindir = tmp_path / "bin"
    result = play(bindir, url, pins(root, jq_sha="0" * 64))
    assert result.returncode != 0
    assert re.search(r"checksum|sha256", result.stdout, re.I), result.stdout
    assert not (bindir / "jq").exists()
    assert not any(bindir.iterdir())  # jq comes first and fails: nothing at all is installed


def test_missing_sha256_refused(mirror, tmp_path):
    root, url = mirror
    tool_pins = pins(root)
    tool_pins[0]["platforms"][PLATFORM]["sha256"] = ""
    result = play(tmp_path / "bin", url, tool_pins)
    assert result.returncode != 0 and "no sha256 for jq" in result.stdout
    assert not (tmp_path / "bin" / "jq").exists()


def test_shipped_pins_are_complete():
    """Every pin covers the four platforms; a sha256 is either a real 64-hex value or empty (documented)."""
    defaults = yaml.safe_load((REPO / "roles" / "tools" / "defaults" / "main.yml").read_text())
    names = [p["name"] for p in defaults["tools_pins"]]
    assert names == ["eksctl", "kubectl", "helm", "flux", "aws-iam-authenticator", "yq", "jq"]
    for pin in defaults["tools_pins"]:
        assert set(pin["platforms"]) == {"linux-amd64", "linux-arm64", "darwin-amd64", "darwin-arm64"}, pin["name"]
        assert pin["version_command"][0] == pin["name"]
        for plat, art in pin["platforms"].items():
            assert art["url"].startswith("https://") and pin["version"].lstrip("v") in art["url"], (pin["name"], plat)
            assert art["sha256"] == "" or re.fullmatch(r"[0-9a-f]{64}", art["sha256"]), (pin["name"], plat)
    shas = [a["sha256"] for p in defaults["tools_pins"] for a in p["platforms"].values() if a["sha256"]]
    assert len(shas) == len(set(shas))
