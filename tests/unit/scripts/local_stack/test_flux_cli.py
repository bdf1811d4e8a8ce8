"""The flux CLI's embedded manifests, written from the offline assembly (local_stack.flux_cli)."""
import pytest
import yaml

from local_stack import flux_cli, flux_mirror
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v2 import components


def test_every_object_but_the_namespace_lands_in_exactly_one_file(tmp_path):
    files = flux_cli.write(tmp_path / "manifests", bin_root=tmp_path / "no-builds")
    names = sorted(p.name for p in files)
    assert names == sorted([f"{c}.yaml" for c in components.CONTROLLERS] + ["rbac.yaml", "policies.yaml"])
    written = [(d["kind"], d["metadata"]["name"]) for p in files for d in yaml.safe_load_all(p.read_text()) if d]
    expected = [(o["kind"], o["metadata"]["name"])
                for o in components.assemble([str(p) for p in flux_mirror.crd_files(tmp_path / "no-builds")])
                if o["kind"] != "Namespace"]
    assert sorted(written) == sorted(expected) and len(written) == len(set(written))


def test_crds_and_workloads_go_to_the_controller_that_serves_them(tmp_path):
    files = {p.stem: [d for d in yaml.safe_load_all(p.read_text()) if d]
             for p in flux_cli.write(tmp_path / "m", bin_root=tmp_path / "none")}
    crds = {stem: {d["metadata"]["name"] for d in docs if d["kind"] == "CustomResourceDefinition"}
            for stem, docs in files.items()}
    assert "gitrepositories.source.toolkit.fluxcd.io" in crds["source-controller"]
    assert "helmreleases.helm.toolkit.fluxcd.io" in crds["helm-controller"]
    assert "imageupdateautomations.image.toolkit.fluxcd.io" in crds["image-automation-controller"]
    assert "imagepolicies.image.toolkit.fluxcd.io" in crds["image-reflector-controller"]
    for controller in components.CONTROLLERS:
        deployments = [d for d in files[controller] if d["kind"] == "Deployment"]
        assert [d["metadata"]["name"] for d in deployments] == [controller]
    assert {d["kind"] for d in files["rbac"]} == {"ClusterRole", "ClusterRoleBinding"}
    assert files["policies"] == []          # the offline assembly has no NetworkPolicies: said in a comment


def test_an_object_no_file_takes_is_an_error():
    with pytest.raises(ValueError, match="CRD widgets.example.com: no Flux controller serves it"):
        flux_cli.owner({"kind": "CustomResourceDefinition", "metadata": {"name": "widgets.example.com"}}, components)
    with pytest.raises(ValueError, match="ConfigMap stray"):
        flux_cli.owner({"kind": "ConfigMap", "metadata": {"name": "stray"}}, components)
