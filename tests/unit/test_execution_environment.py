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

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILDER = os.path.join(os.path.dirname(sys.executable), "ansible-builder")


def _ee():
    spec = importlib.util.spec_from_file_location("tidepool_ee", os.path.join(ROOT, "scripts", "lib", "ee.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _pins(tmp_path, tools=("eksctl", "kubectl", "helm", "flux")):
    pins = {}
    for tool in tools:
        digest = hashlib.sha256(f"{tool}-binary".encode()).hexdigest()
        url = (f"https://downloads.example.test/{tool}/v{{version}}/{tool}_linux_amd64.tar.gz"
               if tool != "kubectl" else "https://downloads.example.test/kubectl/v{version}/bin/linux/amd64/kubectl")
        pins[tool] = {"version": f"1.{len(tool)}.0", "url": url, "sha256": digest}
    path = tmp_path / "pins.yml"
    path.write_text(yaml.safe_dump({"tools_pins": pins}))
    return str(path), pins


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
        url = pin["url"].replace("{version}", pin["version"])
        assert url in containerfile
        assert f"echo '{pin['sha256']}  /tmp/{tool}.download' | sha256sum -c -" in containerfile
        assert f"/usr/local/bin/{tool}" in containerfile
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
    bad.write_text(yaml.safe_dump({"eksctl": {"version": "1", "url": "https://x.test/e", "sha256": "abc"},
                                   "kubectl": {"version": "1", "url": "https://x.test/k", "sha256": "0" * 64},
                                   "helm": {"version": "1", "url": "https://x.test/h", "sha256": "0" * 64},
                                   "flux": {"version": "1", "url": "https://x.test/f", "sha256": "0" * 64}}))
    with pytest.raises(SystemExit, match="eksctl .* no valid sha256"):
        ee.render(str(bad))


def test_committed_ee_carries_the_tools_role_pins():
    """Once the tools role is in the tree, the committed EE installs exactly its pins."""
    ee = _ee()
    pins_path = ee.find_pins()
    if pins_path is None:
        pytest.skip("the tools role (and its pins file) is not in this tree yet")
    steps = yaml.safe_load(open(os.path.join(ROOT, "meta", "execution-environment.yml"), encoding="utf-8"))
    final = "\n".join(steps["additional_build_steps"]["append_final"])
    for tool, pin in ee.load_pins(pins_path).items():
        assert pin["sha256"] in final and pin["url"] in final, tool
