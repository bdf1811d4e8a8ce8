"""meta/execution-environment.yml: generated from the lock, bindep.txt and the tools role's pins (scripts/lib/ee.py)."""
from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys

import pytest
import yaml

from tests.support.helpers import REPO

ROOT = str(REPO)
BUILDER = os.path.join(os.path.dirname(sys.executable), "ansible-builder")


def _ee():
    spec = importlib.util.spec_from_file_location("tidepool_ee", os.path.join(ROOT, "scripts", "lib", "ee.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _pins(tmp_path, tools=("eksctl", "kubectl", "helm", "flux"), unverified=()):
    """A pins file in the tools role's format (tools_pins list, per-platform url/sha256/member)."""
    pins, expected = [], {}
    for tool in tools:
        version = f"1.{len(tool)}.0"
        digest = "" if tool in unverified else hashlib.sha256(f"{tool}-binary".encode()).hexdigest()
        if tool == "kubectl":
            artifact = {"url": f"https://downloads.example.test/kubectl/v{version}/bin/linux/amd64/kubectl"}
        else:
            artifact = {"url": f"https://downloads.example.test/{tool}/{tool}_{version}_linux_amd64.tar.gz",
                        "member": f"linux-amd64/{tool}" if tool == "helm" else tool}
        pins.append({"name": tool, "version": version, "version_command": [tool, "version"],
                     "platforms": {"linux-amd64": dict(artifact, sha256=digest),
                                   "darwin-arm64": {"url": "https://downloads.example.test/other", "sha256": ""}}})
        expected[tool] = dict(artifact, version=version, sha256=digest)
    path = tmp_path / "pins.yml"
    path.write_text(yaml.safe_dump({"tools_bin_dir": "~/.local/bin", "tools_pins": pins}))
    return str(path), expected


def _create(tmp_path, text, reqs):
    """ansible-builder create on a copy of the generated files; returns the build context directory."""
    (tmp_path / "meta").mkdir()
    (tmp_path / "meta" / "execution-environment.yml").write_text(text)
    (tmp_path / "meta" / "ee-requirements.txt").write_text(reqs)
    shutil.copy(os.path.join(ROOT, "bindep.txt"), tmp_path / "bindep.txt")
    ctx = tmp_path / "context"
    subprocess.run([BUILDER, "create", "-f", str(tmp_path / "meta" / "execution-environment.yml"), "-c", str(ctx),
                    "--output-filename", "Containerfile"], check=True, capture_output=True, text=True)
    return ctx


def test_committed_files_are_current():
    """scripts/ee check: the committed EE files equal a fresh generate (lock and pins did not drift)."""
    result = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "lib", "ee.py"), "check"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_context_lists_every_pin_with_its_checksum(tmp_path):
    ee = _ee()
    pins_path, pins = _pins(tmp_path)
    text, reqs = ee.render(pins_path)
    ctx = _create(tmp_path, text, reqs)
    containerfile = (ctx / "Containerfile").read_text()
    for tool, pin in pins.items():
        assert pin["url"] in containerfile
        assert f"echo '{pin['sha256']}  /tmp/{tool}.download' | sha256sum -c -" in containerfile
        assert f"/usr/local/bin/{tool}" in containerfile
        if "member" in pin:
            assert f"tar -xzf /tmp/{tool}.download -C /tmp/{tool}.d {pin['member']}" in containerfile
    assert "downloads.example.test/other" not in containerfile   # only linux-amd64 artifacts
    # the lock's runtime packages, exactly pinned, and the system packages
    lock = ee.read_lock()
    built_reqs = (ctx / "_build" / "requirements.txt").read_text()
    for name in ("boto3", "kubernetes", "ansible", "cryptography"):
        assert f"{lock[ee.canon(name)][0]}=={lock[ee.canon(name)][1]}" in built_reqs.splitlines()
    assert "moto" not in built_reqs and "pytest" not in built_reqs
    assert "git [platform:rpm platform:dpkg]" in (ctx / "_build" / "bindep.txt").read_text()
    assert f"ansible-core=={lock['ansible-core'][1]}" in containerfile


def test_missing_or_bad_pin_is_one_clear_error(tmp_path):
    ee = _ee()
    pins_path, _ = _pins(tmp_path, tools=("eksctl", "kubectl", "helm"))
    with pytest.raises(SystemExit, match="no pin for flux"):
        ee.render(pins_path)
    bad = tmp_path / "bad.yml"
    bad.write_text(yaml.safe_dump({"tools_pins": [
        {"name": t, "version": "1", "platforms": {"linux-amd64": {"url": f"https://x.test/{t}",
                                                                 "sha256": "abc" if t == "eksctl" else "0" * 64}}}
        for t in ("eksctl", "kubectl", "helm", "flux")]}))
    with pytest.raises(SystemExit, match="eksctl .* invalid sha256"):
        ee.render(str(bad))


def test_unverified_pin_stops_the_image_build_not_the_context(tmp_path):
    """A pin without sha256 (the tools role's 'not verified yet') never installs an unchecked binary."""
    ee = _ee()
    pins_path, pins = _pins(tmp_path, unverified=("flux",))
    ctx = _create(tmp_path, *ee.render(pins_path))
    containerfile = (ctx / "Containerfile").read_text()
    flux_line = next(line for line in containerfile.splitlines() if "# flux " in line)
    assert "has no sha256" in flux_line and flux_line.rstrip().split("  #")[0].endswith("&& false")
    assert "curl" not in flux_line and pins["flux"]["url"] not in containerfile
    assert f"echo '{pins['helm']['sha256']}  /tmp/helm.download' | sha256sum -c -" in containerfile


def test_committed_ee_carries_the_tools_role_pins():
    """Once the tools role is in the tree, the committed EE installs exactly its pins."""
    ee = _ee()
    pins_path = ee.find_pins()
    if pins_path is None:
        pytest.skip("the tools role (and its pins file) is not in this tree yet")
    steps = yaml.safe_load(open(os.path.join(ROOT, "meta", "execution-environment.yml"), encoding="utf-8"))
    final = "\n".join(steps["additional_build_steps"]["append_final"])
    for tool, pin in ee.load_pins(pins_path).items():
        assert f"# {tool} {pin['version']}" in final, tool
        assert (pin["sha256"] and pin["sha256"] in final and pin["url"] in final) or \
            (not pin["sha256"] and f"{tool} {pin['version']} has no sha256" in final), tool
