"""Git part of the local stack: ``git daemon`` (push enabled) serving the bare repositories of
``<state>/git`` on loopback, the same repositories over git's smart HTTP (git_http.py: what Flux's
source-controller fetches), and the fake GitHub deploy-key API (fake_github.py) beside them."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

from .fake_github import create_bare_repo  # noqa: F401  (re-exported for tests)
from .common import HOST, http_ok, port_in_use, wait_for

CONFIG_REPO = "cluster-local"


def start_daemon(stack, timeout: float) -> None:
    stack.git_root.mkdir(parents=True, exist_ok=True)
    create_bare_repo(stack.git_root, CONFIG_REPO)
    root = str(stack.git_root)
    # Run git-daemon itself, not the `git daemon` wrapper (which forks it): the stop signal and the
    # die-with-parent setting then reach the server process directly.
    exec_path = subprocess.run(["git", "--exec-path"], capture_output=True, text=True, check=True).stdout.strip()
    daemon = os.path.join(exec_path, "git-daemon")
    argv = [daemon if os.access(daemon, os.X_OK) else "git", *([] if os.access(daemon, os.X_OK) else ["daemon"]),
            "--reuseaddr", f"--listen={HOST}", f"--port={stack.ports['git-daemon']}",
            f"--base-path={root}", "--export-all", "--enable=receive-pack", "--informative-errors", root]
    pid = stack.spawn("git-daemon", argv)
    wait_for("git daemon", lambda: port_in_use(stack.ports["git-daemon"]), timeout, pid, stack.run / "git-daemon.log")


def _module_env() -> dict:
    """os.environ with this package importable (``python -m local_stack.<module>``)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(__file__).resolve().parent.parent),
                                                      env.get("PYTHONPATH")]))
    return env


def start_http(stack, timeout: float) -> None:
    stack.git_root.mkdir(parents=True, exist_ok=True)
    create_bare_repo(stack.git_root, CONFIG_REPO)
    argv = [stack.python, "-m", "local_stack.git_http", "--host", HOST, "--port", str(stack.ports["git-http"]),
            "--root", str(stack.git_root)]
    pid = stack.spawn("git-http", argv, _module_env())
    wait_for("git smart-HTTP server", lambda: http_ok(stack.git_http_url + "_health"), timeout, pid,
             stack.run / "git-http.log")


def start_fake_github(stack, timeout: float) -> None:
    stack.git_root.mkdir(parents=True, exist_ok=True)
    env = _module_env()
    argv = [stack.python, "-m", "local_stack.fake_github", "--host", HOST, "--port", str(stack.ports["fake-github"]),
            "--root", str(stack.git_root), "--token", stack.token,
            "--state-file", str(stack.state / "fake-github.json")]
    pid = stack.spawn("fake-github", argv, env)
    wait_for("fake GitHub API", lambda: http_ok(stack.github_api_url + "/_fake/health"), timeout, pid,
             stack.run / "fake-github.log")


# What Stack.up calls to start each git component: (stack, timeout seconds) -> None.
STARTERS = {"git-daemon": start_daemon, "git-http": start_http, "fake-github": start_fake_github}
