"""The pinned upstream charts (../shared/reference/charts) rendered with the real helm CLI.

helm is built by `scripts/local-stack build helm` (part of `build local`, which `make test` runs) into the cache;
missing, the tests that need it fail with CI=true and are skipped otherwise, naming the command that builds it.
"""
from __future__ import annotations

import collections
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.support.helpers import SHARED

REPO = Path(__file__).resolve().parents[2]
CHARTS = SHARED / "reference" / "charts"
CI = os.environ.get("CI", "").lower() in ("true", "1", "yes")
#: The Kubernetes version charts are rendered for (.Capabilities.KubeVersion): the default EKS version.
KUBE_VERSION = "1.34.0"


def _versions() -> dict:
    return dict(line.split("=", 1) for line in (REPO / "scripts" / "local_stack" / "versions.env").read_text()
                .splitlines() if "=" in line and not line.startswith("#"))


def _missing(reason: str):
    if CI:
        pytest.fail(f"CI=true: {reason}", pytrace=False)
    pytest.skip(reason)


def _cached(component: str, version_key: str, name: str, target: str | None = None) -> Path:
    """``<cache>/bin/<component>-<version>/<name>`` (fails under CI, skips elsewhere, when it is not built by
    ``scripts/local-stack build <target>``, default ``<component>``)."""
    cache = Path(os.environ.get("TIDEPOOL_EKS_CACHE", Path.home() / ".cache" / "tidepool-eks"))
    path = cache / "bin" / f"{component}-{_versions()[version_key].strip()}" / name
    if not os.access(path, os.X_OK):
        _missing(f"{name} not built ({path}); run `scripts/local-stack build {target or component}`")
    return path


def flux_cli() -> Path:
    """The stack's flux CLI, of the one Flux release (``scripts/local-stack build flux-cli``)."""
    return _cached("flux", "FLUX_VERSION", "flux", target="flux-cli")


def helm() -> Path:
    """The helm CLI of the stack's cache (fails under CI, skips elsewhere, when it is not built)."""
    return _cached("helm", "HELM_VERSION", "helm")


def chart_dir(name: str, version: str) -> Path:
    """``../shared/reference/charts/<name>/<version>`` (fails under CI, skips elsewhere, when absent)."""
    path = CHARTS / name / version
    if not (path / "Chart.yaml").is_file():
        _missing(f"the pinned chart {name} {version} is not at {path} (../shared/reference beside the clone)")
    return path


def template(name: str, version: str, values: dict | None, tmp_path: Path, *, release: str = "x",
             namespace: str = "default", extra: tuple = ()) -> list[dict]:
    """``helm template`` of a pinned chart with ``values`` (a values file), as a list of objects."""
    values_file = tmp_path / f"{name}-values.yaml"
    values_file.write_text(yaml.safe_dump(values or {}))
    proc = subprocess.run([str(helm()), "template", release, str(chart_dir(name, version)), "--namespace", namespace,
                           "--kube-version", KUBE_VERSION, "-f", str(values_file), *extra],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, f"helm template {name} {version} failed: {proc.stderr[-2000:]}"
    return [doc for doc in yaml.safe_load_all(proc.stdout) if doc]


def kubectl() -> Path:
    """The kubectl of the stack's cache (its ``kustomize`` is the Kustomize helm-controller's post-renderer uses)."""
    return _cached("kubernetes", "KUBERNETES_VERSION", "kubectl")


def post_render(objects: list[dict], release: dict, tmp_path: Path) -> list[dict]:
    """``objects`` after the Kustomize patches of the HelmRelease's ``spec.postRenderers`` (``kubectl kustomize``,
    the same engine as helm-controller's post-renderer); ``objects`` unchanged without post-renderers."""
    patches = [p for r in release["spec"].get("postRenderers") or [] for p in r.get("kustomize", {}).get("patches", [])]
    if not patches:
        return objects
    work = tmp_path / "post-render"
    work.mkdir()
    (work / "all.yaml").write_text(yaml.safe_dump_all(objects))
    (work / "kustomization.yaml").write_text(yaml.safe_dump({"resources": ["all.yaml"], "patches": patches}))
    proc = subprocess.run([str(kubectl()), "kustomize", str(work)], capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == 0, f"kubectl kustomize failed: {proc.stderr[-2000:]}"
    return [doc for doc in yaml.safe_load_all(proc.stdout) if doc]


def _pod_spec(obj: dict) -> dict | None:
    spec = obj.get("spec") or {}
    if obj["kind"] == "Pod":
        return spec
    if obj["kind"] == "CronJob":
        spec = spec.get("jobTemplate", {}).get("spec", {})
    return (spec.get("template") or {}).get("spec") if obj["kind"] in (
        "Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "ReplicaSet") else None


def secret_references(objects: list[dict], *, required_only: bool = False) -> dict:
    """``{(secret, key): {workload, ...}}`` of every Secret reference of the workloads (or Pods): ``secretKeyRef``
    (key as named), ``envFrom.secretRef`` and secret volumes (key ``*``: the whole Secret); with ``required_only``
    the references marked ``optional: true`` are left out."""
    out = collections.defaultdict(set)
    keep = (lambda ref: not ref.get("optional", False)) if required_only else (lambda ref: True)
    for obj in objects:
        pod = _pod_spec(obj)
        if not pod:
            continue
        owner = f"{obj['kind']}/{obj['metadata']['name']}"
        for container in (pod.get("containers") or []) + (pod.get("initContainers") or []):
            for env in container.get("env") or []:
                ref = (env.get("valueFrom") or {}).get("secretKeyRef")
                if ref and keep(ref):
                    out[(ref["name"], ref["key"])].add(owner)
            for env_from in container.get("envFrom") or []:
                if "secretRef" in env_from and keep(env_from["secretRef"]):
                    out[(env_from["secretRef"]["name"], "*")].add(owner)
        for volume in pod.get("volumes") or []:
            if "secret" in volume and keep(volume["secret"]):
                out[(volume["secret"]["secretName"], "*")].add(owner)
    return dict(out)
