"""The Flux v2 components mirror of the local stack: the pinned release's ``install.yaml``, assembled offline.

The real ``install.yaml`` of Flux v2.9.0 cannot be downloaded here (no network) and its digest cannot be pinned
offline, so ``scripts/local-stack build flux-mirror`` (part of ``build`` and ``build gitops``) assembles the same
objects (plugins/module_utils/gitops/flux_v2/components.py ``assemble``): the Namespace ``flux-system``, the CRDs,
the controllers' ServiceAccounts, RBAC, Services and Deployments with images pinned by tag. The CRDs are those the
stack's controllers serve: the ``crds/`` that build.sh copies from each built controller module's ``config/``
(source-controller, kustomize-controller), and for the controllers the stack does not build (helm, notification,
image) the reference CRDs of ``../shared/reference/crds/flux2/``. Without built controllers every CRD comes from the
reference set.

Layout (what the flux role's ``flux_v2_mirror_url`` expects)::

    <cache>/mirror/flux2/<release>/install.yaml
    <cache>/mirror/flux2/<release>/install.yaml.sha256     "<hex>  install.yaml"

    python -m local_stack.flux_mirror [--out <cache>/mirror]

Idempotent: the files are rewritten only when their content changes (same inputs, same bytes, same sha256).
"""
from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

from .common import REPO, cache_root, shared_dir, versions

CONTROLLERS_BUILT = {"source-controller": "SOURCE_CONTROLLER_VERSION",
                     "kustomize-controller": "KUSTOMIZE_CONTROLLER_VERSION"}


def _components():
    """The collection's components module (the checkout's .collections link, as pytest and ansible use)."""
    path = str(REPO / ".collections")
    if path not in sys.path:
        sys.path.insert(0, path)
    from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v2 import components
    return components


def default_root() -> Path:
    """``<cache>/mirror`` (the ``file://`` URL the local and test2 inventories give ``flux_v2_mirror_url``)."""
    return cache_root() / "mirror"


def crd_files(bin_root: Path | None = None, reference: Path | None = None) -> list[Path]:
    """The CRD files of the mirror: the built controllers' own (``<bin>/<controller>-<v>/crds/*.yaml``), then
    every reference file (``<shared>/reference/crds/flux2``) whose file name no built controller provides."""
    bin_root = bin_root or cache_root() / "bin"
    reference = reference or shared_dir() / "reference" / "crds" / "flux2"
    pins = versions()
    own = []
    for name, key in CONTROLLERS_BUILT.items():
        d = bin_root / f"{name}-{pins[key]}" / "crds"
        if d.is_dir():
            own += sorted(d.glob("*.yaml"))
    names = {p.name for p in own}
    return own + [p for p in sorted(reference.glob("*.yaml")) if p.name not in names]


def _write(path: Path, data: bytes) -> bool:
    if path.exists() and path.read_bytes() == data:
        return False
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return True


def build(root: Path | None = None, bin_root: Path | None = None, reference: Path | None = None) -> tuple[Path, str, bool]:
    """Assemble ``<root>/flux2/<release>/install.yaml`` and its ``.sha256``; return (path, sha256, changed)."""
    components = _components()
    root = Path(root or default_root())
    out = root / "flux2" / components.FLUX_VERSION
    out.mkdir(parents=True, exist_ok=True)
    data = components.dump(components.assemble([str(p) for p in crd_files(bin_root, reference)])).encode()
    digest = hashlib.sha256(data).hexdigest()
    changed = _write(out / "install.yaml", data)
    changed = _write(out / "install.yaml.sha256", f"{digest}  install.yaml\n".encode()) or changed
    return out / "install.yaml", digest, changed


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=None, help="mirror root (default <cache>/mirror)")
    args = p.parse_args(argv)
    path, digest, changed = build(args.out)
    print(f"local-stack build: flux mirror: {path} sha256 {digest} ({'written' if changed else 'unchanged'})",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
