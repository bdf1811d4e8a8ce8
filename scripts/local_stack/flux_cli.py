"""The embedded manifests of the flux CLI built for the local stack (``scripts/local-stack build flux-cli``).

The flux CLI embeds its release's manifests (``cmd/flux/manifests/*.yaml``, ``//go:embed``): the Flux project
generates them at release time with ``kustomize build manifests/bases/<controller>``, which downloads each controller's
release assets. The module zip on the Go module proxy does not carry them and this machine cannot download them, so
the build writes them from the collection's offline assembly of the same release (``components.assemble``, the
local stack's mirror of ``flux_mirror.py``), split the way the release splits them:

* ``<controller>.yaml`` - the CRDs of its API kinds, its ServiceAccount, its Services, its Deployment;
* ``rbac.yaml`` - the ClusterRoles and ClusterRoleBindings;
* ``policies.yaml`` - the release's NetworkPolicies, which the offline assembly does not have (a comment only).

The stack's CLI is for looking at and driving what runs there (``flux get all -A``, ``flux reconcile``,
``flux events``); the components a cluster gets come from the collection (flux role), never from this CLI.

    python -m local_stack.flux_cli <dir>      # writes <dir>/*.yaml (the module copy's cmd/flux/manifests)
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import flux_mirror

#: CRD name suffix (the API group) or full name -> the controller that serves it.
CRD_OWNERS = {
    "source.toolkit.fluxcd.io": "source-controller",
    "kustomize.toolkit.fluxcd.io": "kustomize-controller",
    "helm.toolkit.fluxcd.io": "helm-controller",
    "notification.toolkit.fluxcd.io": "notification-controller",
    "imageupdateautomations.image.toolkit.fluxcd.io": "image-automation-controller",
    "image.toolkit.fluxcd.io": "image-reflector-controller",
}


def owner(obj: dict, components) -> str:
    """The file an object of the assembly goes to: a controller name, ``rbac`` or ``namespace`` (not embedded: the
    CLI writes its own Namespace). Raises ValueError for an object no file takes."""
    kind, meta = obj["kind"], obj["metadata"]
    if kind == "Namespace":
        return "namespace"
    if kind in ("ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"):
        return "rbac"
    if kind == "CustomResourceDefinition":
        name = meta["name"]
        for key, controller in CRD_OWNERS.items():
            if name == key or name.endswith("." + key):
                return controller
        raise ValueError(f"CRD {name}: no Flux controller serves it")
    component = (meta.get("labels") or {}).get("app.kubernetes.io/component")
    if component in components.CONTROLLERS:
        return component
    raise ValueError(f"{kind} {meta.get('name')}: no app.kubernetes.io/component of a Flux controller")


def split(objects: list[dict], components) -> dict[str, list[dict]]:
    """``{file stem: objects}`` for every controller of CONTROLLERS, ``rbac`` and ``policies`` (empty)."""
    files: dict[str, list[dict]] = {name: [] for name in components.CONTROLLERS}
    files.update(rbac=[], policies=[])
    for obj in objects:
        stem = owner(obj, components)
        if stem != "namespace":
            files[stem].append(obj)
    return files


def write(out: Path, bin_root: Path | None = None, reference: Path | None = None) -> list[Path]:
    """Write the manifests into ``out`` (created; other ``*.yaml`` there removed). Returns the files written."""
    components = flux_mirror.collection_components()
    objects = components.assemble([str(p) for p in flux_mirror.crd_files(bin_root, reference)])
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.yaml"):
        old.unlink()
    written = []
    for stem, objs in split(objects, components).items():
        path = out / f"{stem}.yaml"
        if objs:
            text = components.dump(objs)
        else:
            text = (f"# {stem}: not in the offline assembly of Flux {components.FLUX_VERSION} "
                    "(scripts/local_stack/flux_cli.py)\n")
        path.write_text(text)
        written.append(path)
    return written


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", type=Path, help="the directory to write (cmd/flux/manifests of the module copy)")
    args = p.parse_args(argv)
    try:
        files = write(args.out)
    except (OSError, ValueError) as exc:
        print(f"local-stack build: flux CLI manifests: {exc}", file=sys.stderr)
        return 1
    print(f"local-stack build: flux CLI manifests: {len(files)} files in {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
