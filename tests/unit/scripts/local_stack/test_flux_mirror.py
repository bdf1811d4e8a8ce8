"""The Flux v2 components mirror (scripts/local_stack/flux_mirror.py): assembled offline, the built controllers'
CRDs win over the reference CRDs of the same file, the sha256 beside the file, unchanged bytes on a second build."""
from __future__ import annotations

import hashlib

import yaml

from local_stack import flux_mirror
from local_stack.common import versions

from tests.support.schemas import REF


def test_mirror_is_assembled_with_its_sha256_and_is_stable(tmp_path):
    bin_root = tmp_path / "bin"
    own = bin_root / f"kustomize-controller-{versions()['KUSTOMIZE_CONTROLLER_VERSION']}" / "crds"
    own.mkdir(parents=True)
    crd = yaml.safe_load((REF / "crds" / "flux2" / "kustomize.toolkit.fluxcd.io_kustomizations.yaml").read_text())
    crd["metadata"]["annotations"] = {"built": "from the controller's config/"}
    (own / "kustomize.toolkit.fluxcd.io_kustomizations.yaml").write_text(yaml.safe_dump(crd))

    path, digest, changed = flux_mirror.build(tmp_path / "mirror", bin_root=bin_root)
    assert changed and path == tmp_path / "mirror" / "flux2" / "v2.9.0" / "install.yaml"
    data = path.read_bytes()
    assert hashlib.sha256(data).hexdigest() == digest
    assert (path.parent / "install.yaml.sha256").read_text() == f"{digest}  install.yaml\n"
    docs = [d for d in yaml.safe_load_all(data) if d]
    crds = {d["metadata"]["name"]: d for d in docs if d["kind"] == "CustomResourceDefinition"}
    assert crds["kustomizations.kustomize.toolkit.fluxcd.io"]["metadata"]["annotations"]["built"]
    assert "helmreleases.helm.toolkit.fluxcd.io" in crds  # not built here: the reference CRD
    assert docs[0]["kind"] == "Namespace" and any(d["kind"] == "Deployment" for d in docs)

    assert flux_mirror.build(tmp_path / "mirror", bin_root=bin_root) == (path, digest, False)
