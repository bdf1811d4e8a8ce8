"""The stack's chart repository: a Helm repository on 127.0.0.1 built from the pinned chart copies of
``<shared>/reference/charts/<name>/<version>/`` (Chart.yaml at that level), so source-controller pulls every chart of
the platform without reaching the internet.

* :func:`build_repository`: ``helm package`` of each chart directory (with what it vendors under ``charts/``; nothing
  is fetched) into ``<state>/chart-repo/``, then ``helm repo index --url <served URL>``. Rebuilt only when
  :func:`source_digest` changes (the content of every chart directory, the helm version and the URL), recorded in
  ``<state>/chart-repo/.source-sha256``; a rebuild is written beside the served directory and swapped in.
* The server: Python's ``http.server`` bound to 127.0.0.1, serving that directory (``index.yaml`` + ``<name>-<version>.tgz``);
  health probe ``GET /index.yaml``. Its URL is ``TIDEPOOL_STACK_CHARTS_URL`` in ``scripts/local-stack env``.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from .common import HOST, StackError, http_ok, shared_dir, versions, wait_for

DIGEST_FILE = ".source-sha256"


def charts_root() -> Path:
    """``<shared>/reference/charts`` (``TIDEPOOL_STACK_CHARTS_SRC`` overrides it)."""
    return Path(os.environ.get("TIDEPOOL_STACK_CHARTS_SRC") or shared_dir() / "reference" / "charts")


def helm_bin(stack) -> Path:
    """``<bin>/helm-<HELM_VERSION>/helm`` (``TIDEPOOL_STACK_HELM`` overrides it)."""
    return Path(os.environ.get("TIDEPOOL_STACK_HELM") or stack.bin_root / f"helm-{versions()['HELM_VERSION']}" / "helm")


def chart_dirs(root: Path) -> list[Path]:
    """Every ``<root>/<name>/<version>`` holding a Chart.yaml, sorted. Raises StackError when there is none."""
    dirs = sorted(p.parent for p in Path(root).glob("*/*/Chart.yaml"))
    if not dirs:
        raise StackError(f"chart-repo: no chart under {root} (<name>/<version>/Chart.yaml; set TIDEPOOL_EKS_SHARED "
                         "to the shared/ directory or TIDEPOOL_STACK_CHARTS_SRC to the charts)")
    return dirs


def source_digest(dirs: list[Path], *, helm_version: str, url: str) -> str:
    """sha256 (hex) over the relative path and bytes of every file of ``dirs``, the helm version and the URL."""
    h = hashlib.sha256(f"helm {helm_version}\nurl {url}\n".encode())
    for d in dirs:
        for path in sorted(p for p in d.rglob("*") if p.is_file()):
            h.update(f"{d.parent.name}/{d.name}/{path.relative_to(d).as_posix()}\0".encode())
            h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def repo_dir(stack) -> Path:
    """``<state>/chart-repo``: what the server serves."""
    return stack.state / "chart-repo"


def charts_url(stack) -> str:
    """``http://127.0.0.1:<chart-repo port>`` (no trailing slash: a HelmRepository's ``spec.url``)."""
    return f"http://{HOST}:{stack.ports['chart-repo']}"


def build_repository(stack, *, log=None) -> bool:
    """Package every chart and index them unless the repository already holds this content. Returns True when it
    was (re)built. Raises StackError naming the chart helm failed on (the served directory is left as it was)."""
    helm = helm_bin(stack)
    if not os.access(helm, os.X_OK):
        raise StackError(f"chart-repo: {helm} missing (run `scripts/local-stack build helm`)")
    root = charts_root()
    dirs = chart_dirs(root)
    url = charts_url(stack)
    digest = source_digest(dirs, helm_version=versions()["HELM_VERSION"], url=url)
    out = repo_dir(stack)
    stamp = out / DIGEST_FILE
    if stamp.exists() and stamp.read_text().strip() == digest and (out / "index.yaml").exists():
        return False
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELM_")}
    # helm's own cache/config/data under the build directory: nothing of the user's helm setup is read or written
    env.update(HELM_CACHE_HOME=str(tmp / ".helm/cache"), HELM_CONFIG_HOME=str(tmp / ".helm/config"),
               HELM_DATA_HOME=str(tmp / ".helm/data"))
    for d in dirs:
        proc = subprocess.run([str(helm), "package", str(d), "--destination", str(tmp)], env=env,
                              capture_output=True, text=True, check=False)
        if proc.returncode:
            shutil.rmtree(tmp, ignore_errors=True)
            raise StackError(f"chart-repo: helm package {d} failed: {proc.stderr.strip() or proc.stdout.strip()}")
    proc = subprocess.run([str(helm), "repo", "index", str(tmp), "--url", url], env=env,
                          capture_output=True, text=True, check=False)
    if proc.returncode:
        shutil.rmtree(tmp, ignore_errors=True)
        raise StackError(f"chart-repo: helm repo index failed: {proc.stderr.strip()}")
    shutil.rmtree(tmp / ".helm", ignore_errors=True)
    (tmp / DIGEST_FILE).write_text(digest + "\n")
    old = out.with_name(out.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if out.exists():
        out.rename(old)
    tmp.rename(out)
    shutil.rmtree(old, ignore_errors=True)
    if log:
        log(f"chart-repo: {len(dirs)} charts of {root} packaged and indexed for {url}")
    return True


def healthy(stack, name: str = "chart-repo") -> bool:
    return http_ok(f"{charts_url(stack)}/index.yaml")


def start_chart_repo(stack, timeout: float, log=None) -> None:
    build_repository(stack, log=log)
    argv = [stack.python, "-m", "http.server", "--bind", HOST, "--directory", str(repo_dir(stack)),
            str(stack.ports["chart-repo"])]
    pid = stack.spawn("chart-repo", argv)
    wait_for("chart-repo", lambda: healthy(stack), timeout, pid, stack.run / "chart-repo.log")


# What Stack.up calls to start the chart repository: (stack, timeout seconds) -> None.
STARTERS = {"chart-repo": start_chart_repo}
