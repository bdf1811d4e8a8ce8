"""The Flux v2 components mirror of the local stack: the pinned release's ``install.yaml``, assembled offline.

The real ``install.yaml`` of the pinned Flux release (components.FLUX_VERSION) cannot be downloaded here (no network) and its digest cannot be pinned
offline, so ``scripts/local-stack build flux-mirror`` (part of ``build`` and ``build gitops``) assembles the same
objects (plugins/module_utils/gitops/flux_v2/components.py ``assemble``): the Namespace ``flux-system``, the CRDs,
the controllers' ServiceAccounts, RBAC, Services and Deployments with images pinned by tag. The CRDs are those the
stack's controllers serve: the ``crds/`` that build.sh copies from each built controller module's ``config/``
(source-controller, kustomize-controller), and for the controllers the stack does not build (helm, notification,
image) the reference CRDs of ``../shared/reference/crds/flux2/``. Without built controllers every CRD comes from the
reference set.

Layout (what the flux role's ``flux_v2_mirror_url`` expects)::

    <cache>/mirror/flux2/<release>/install.yaml

    python -m local_stack.flux_mirror [--out <cache>/mirror]

The digest is pinned, not attested by the mirror: the assembly is deterministic (same inputs, same bytes), so the
collection pins its sha256 (``flux_v2_local_mirror_sha256`` in ``roles/flux/defaults/main.yml``, :func:`pin`) and
:func:`build` refuses to write a file with another digest (its inputs changed: a controller version of
``versions.env``, the reference CRDs, ``components.py``; review the change, then update the pin). The local and
test2 inventories check the file against the same pin; no ``.sha256`` is written beside it (a stale one is
removed), since whoever can replace the file could replace that too.

Idempotent: the file is rewritten only when its content changes.
"""
from __future__ import annotations

import argparse
import hashlib
import re
import sys
from pathlib import Path

from .common import REPO, cache_root, shared_dir, versions

CONTROLLERS_BUILT = {"source-controller": "SOURCE_CONTROLLER_VERSION",
                     "kustomize-controller": "KUSTOMIZE_CONTROLLER_VERSION"}


def collection_components():
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


PIN_FILE = REPO / "roles" / "flux" / "defaults" / "main.yml"
PIN_KEY = "flux_v2_local_mirror_sha256"


class MirrorError(Exception):
    """The assembly does not have the pinned digest (nothing was written)."""


def pin() -> str:
    """The collection's pin of the assembly's sha256 (``flux_v2_local_mirror_sha256`` of :data:`PIN_FILE`)."""
    match = re.search(rf"^{PIN_KEY}:\s*\"?([0-9a-f]{{64}})\"?\s*(#.*)?$", PIN_FILE.read_text(), re.M)
    if not match:
        raise MirrorError(f"{PIN_FILE}: no {PIN_KEY} (a sha256) found.")
    return match.group(1)


def _write(path: Path, data: bytes) -> bool:
    if path.exists() and path.read_bytes() == data:
        return False
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return True


def build(root: Path | None = None, bin_root: Path | None = None, reference: Path | None = None,
          pinned: str | None = "collection") -> tuple[Path, str, bool]:
    """Assemble ``<root>/flux2/<release>/install.yaml``; return (path, sha256, changed). ``pinned``: the digest
    the assembly must have (default the collection's :func:`pin`; None checks nothing, for tests assembling other
    inputs). Raises MirrorError, writing nothing, when the digest differs."""
    components = collection_components()
    root = Path(root or default_root())
    out = root / "flux2" / components.FLUX_VERSION
    files = crd_files(bin_root, reference)
    data = components.dump(components.assemble([str(p) for p in files])).encode()
    digest = hashlib.sha256(data).hexdigest()
    expected = pin() if pinned == "collection" else pinned
    if expected and digest != expected:
        built = sorted({p.parent.parent.name for p in files if p.parent.name == "crds"}) or ["none"]
        raise MirrorError(
            f"the Flux components assembly has sha256 {digest}, not the pinned {expected} ({PIN_KEY}, {PIN_FILE}); "
            f"nothing was written. Its inputs differ from the pinned ones: built controllers' CRDs: "
            f"{', '.join(built)} (build them first: `scripts/local-stack build gitops`), the reference CRDs, "
            "components.py. If the change is intended, review the new file and update the pin.")
    out.mkdir(parents=True, exist_ok=True)
    changed = _write(out / "install.yaml", data)
    stale = out / "install.yaml.sha256"
    if stale.exists():   # written by older versions; never trusted, so not left to look trusted
        stale.unlink()
    return out / "install.yaml", digest, changed


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=None, help="mirror root (default <cache>/mirror)")
    args = p.parse_args(argv)
    try:
        path, digest, changed = build(args.out)
    except MirrorError as exc:
        print(f"local-stack build: flux mirror: {exc}", file=sys.stderr)
        return 1
    print(f"local-stack build: flux mirror: {path} sha256 {digest} ({'written' if changed else 'unchanged'})",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
