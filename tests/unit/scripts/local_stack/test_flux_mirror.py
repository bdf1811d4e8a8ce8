"""The Flux v2 components mirror (scripts/local_stack/flux_mirror.py): assembled offline, the built controllers'
CRDs win over the reference CRDs of the same file, the same bytes on a second build, and a digest that is pinned in
the collection rather than written beside the file (issue 24: a self-attested mirror is no mirror)."""
from __future__ import annotations

import hashlib

import pytest
import yaml

from local_stack import flux_mirror
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v2 import components
from local_stack.common import versions

from tests.support.schemas import REF


@pytest.fixture
def bin_root(tmp_path):
    root = tmp_path / "bin"
    own = root / f"kustomize-controller-{versions()['KUSTOMIZE_CONTROLLER_VERSION']}" / "crds"
    own.mkdir(parents=True)
    crd = yaml.safe_load((REF / "crds" / "flux2" / "kustomize.toolkit.fluxcd.io_kustomizations.yaml").read_text())
    crd["metadata"]["annotations"] = {"built": "from the controller's config/"}
    (own / "kustomize.toolkit.fluxcd.io_kustomizations.yaml").write_text(yaml.safe_dump(crd))
    return root


def test_mirror_is_assembled_deterministically_and_no_digest_is_written_beside_it(tmp_path, bin_root):
    path, digest, changed = flux_mirror.build(tmp_path / "mirror", bin_root=bin_root, pinned=None)
    assert changed and path == tmp_path / "mirror" / "flux2" / components.FLUX_VERSION / "install.yaml"
    data = path.read_bytes()
    assert hashlib.sha256(data).hexdigest() == digest
    assert sorted(p.name for p in path.parent.iterdir()) == ["install.yaml"]
    docs = [d for d in yaml.safe_load_all(data) if d]
    crds = {d["metadata"]["name"]: d for d in docs if d["kind"] == "CustomResourceDefinition"}
    assert crds["kustomizations.kustomize.toolkit.fluxcd.io"]["metadata"]["annotations"]["built"]
    assert "helmreleases.helm.toolkit.fluxcd.io" in crds  # not built here: the reference CRD
    assert docs[0]["kind"] == "Namespace" and any(d["kind"] == "Deployment" for d in docs)

    # same inputs, same bytes: the digest can be pinned
    assert flux_mirror.build(tmp_path / "mirror", bin_root=bin_root, pinned=digest) == (path, digest, False)


def test_an_assembly_without_the_pinned_digest_is_refused_and_nothing_is_written(tmp_path, bin_root):
    with pytest.raises(flux_mirror.MirrorError, match="not the pinned 0{64}.*nothing was written.*kustomize-controller"):
        flux_mirror.build(tmp_path / "mirror", bin_root=bin_root, pinned="0" * 64)
    assert not (tmp_path / "mirror").exists()


def test_a_stale_sha256_beside_the_mirror_is_removed(tmp_path, bin_root):
    out = tmp_path / "mirror" / "flux2" / components.FLUX_VERSION
    out.mkdir(parents=True)
    (out / "install.yaml.sha256").write_text("0" * 64 + "  install.yaml\n")
    flux_mirror.build(tmp_path / "mirror", bin_root=bin_root, pinned=None)
    assert not (out / "install.yaml.sha256").exists()


def test_the_collection_pins_the_assembly_digest():
    assert len(flux_mirror.pin()) == 64 and int(flux_mirror.pin(), 16) >= 0
