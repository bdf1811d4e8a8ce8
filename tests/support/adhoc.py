"""Run one module of the collection the way Ansible does (ad-hoc `ansible localhost -m ...`), parse its result."""
from __future__ import annotations

import json
import subprocess
import sys

from tests.support.helpers import REPO, VENV_BIN, ansible_env


def run_module(module: str, args: dict, *, check: bool = False, diff: bool = False, env: dict | None = None,
               timeout: int = 600) -> dict:
    """The module's result dict (``failed``/``msg`` on failure). ``env`` adds environment variables."""
    cmd = [str(VENV_BIN / "ansible"), "localhost", "-i", "localhost,", "-c", "local", "-m", module,
           "-a", json.dumps(args), "-e", json.dumps({"ansible_python_interpreter": sys.executable})]
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    extra = {"ANSIBLE_LOAD_CALLBACK_PLUGINS": "1", "ANSIBLE_STDOUT_CALLBACK": "json"}
    extra.update(env or {})
    proc = subprocess.run(cmd, cwd=REPO, env=ansible_env(extra), capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)
    try:
        out = json.loads(proc.stdout)
    except ValueError:
        raise AssertionError(f"ansible -m {module} printed no JSON (rc {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return out["plays"][0]["tasks"][0]["hosts"]["localhost"]
