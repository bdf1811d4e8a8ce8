"""The rendered tree: layout, parts ordered for applying, one rendering for tree and objects."""
from __future__ import annotations

import pytest

from ansible_collections.tidepool.eks.plugins.module_utils.gitops import registry
from ansible_collections.tidepool.eks.plugins.module_utils.common import naming
from ansible_collections.tidepool.eks.plugins.module_utils.config import inventory
from ansible_collections.tidepool.eks.plugins.module_utils.config import tree
from tests.support.inventory import load_values


@pytest.fixture()
def values():
    return load_values("test1")


def test_tree_layout_and_enabled_packages(values):
    rendered = tree.render_tree(values, registry.for_values(values))
    assert "clusters/test1/eksctl/cluster-config.yaml" in rendered
    flux = naming.flux_path("test1")
    pkgs = {p.split("/")[4] for p in rendered if p.startswith(f"{flux}/shared/")}
    assert pkgs == set(inventory.enabled_pkgs(values))
    assert not pkgs & {"datadog", "fluxcloud", "sumologic"}
    # Nothing but Kubernetes objects under the Flux path; the ClusterConfig is outside it.
    for path, obj in rendered.items():
        assert path.startswith(flux + "/") == (obj["kind"] != "ClusterConfig"), path
    # every namespaced object's namespace is created by the tree or is kube-system
    namespaces = {o["metadata"]["name"] for o in rendered.values() if o["kind"] == "Namespace"} | {"kube-system"}
    for obj in rendered.values():
        ns = obj["metadata"].get("namespace")
        assert ns is None or ns in namespaces, (obj["kind"], obj["metadata"])
    assert f"{flux}/environments/qa2/helmrelease-tidepool.yaml" in rendered


def test_several_clusters_share_one_repository():
    a, b = load_values("test1"), load_values("local")
    ta, tb = tree.render_tree(a, registry.for_values(a)), tree.render_tree(b, registry.for_values(b))
    assert not set(ta) & set(tb)
    assert all(p.startswith("clusters/test1/") for p in ta) and all(p.startswith("clusters/local/") for p in tb)


def test_cluster_objects_reuse_the_rendered_namespaces(values):
    objs = tree.objects(values, "cluster", registry.for_values(values))
    assert [o["kind"] for o in objs] == sorted((o["kind"] for o in objs), key=lambda k: k != "Namespace")
    ns = {o["metadata"]["name"]: o for o in objs if o["kind"] == "Namespace"}
    rendered = {o["metadata"]["name"]: o for o in tree.objects(values, "shared", registry.for_values(values))
                + tree.objects(values, "environments", registry.for_values(values)) if o["kind"] == "Namespace"}
    assert ns["certmanager"] == rendered["certmanager"]  # same labels: applying both parts converges
    sas = {(o["metadata"]["namespace"], o["metadata"]["name"]) for o in objs if o["kind"] == "ServiceAccount"}
    assert ("qa2", "hydrophone") in sas and ("kube-system", "cluster-autoscaler") in sas
    with pytest.raises(ValueError, match="part"):
        tree.objects(values, "nodes", registry.for_values(values))


def test_shared_objects_put_crds_and_namespaces_first(values):
    kinds = [o["kind"] for o in tree.objects(values, "shared", registry.for_values(values))]
    first_other = next(i for i, k in enumerate(kinds) if k not in ("CustomResourceDefinition", "Namespace"))
    assert "CustomResourceDefinition" not in kinds[first_other:] and "Namespace" not in kinds[first_other:]


def test_render_once_gives_the_tree_and_the_objects_of_every_part(values):
    rendered = tree.render(values, registry.for_values(values))
    assert rendered["tree"] == tree.render_tree(values, registry.for_values(values))
    for part in ("cluster", "shared", "environments"):
        assert rendered["objects"][part] == tree.objects(values, part, registry.for_values(values))


def test_render_builds_the_cluster_config_and_every_unit_once(values, monkeypatch):
    calls = {"cluster_config": 0, "shared_services": 0, "environment": 0}

    def counting(module, name):
        real = getattr(module, name)

        def wrapper(*args, **kwargs):
            calls[name] += 1
            return real(*args, **kwargs)
        monkeypatch.setattr(module, name, wrapper)

    counting(tree.eksctl_config, "cluster_config")
    counting(tree.packages, "shared_services")
    counting(tree.environments, "environment")
    tree.render(values, registry.for_values(values))
    assert calls == {"cluster_config": 1, "shared_services": 1, "environment": len(values["environments"])}


def test_managed_dirs_are_under_the_cluster_directory():
    assert tree.managed_dirs("test1") == ["clusters/test1/eksctl", "clusters/test1/flux/shared",
                                          "clusters/test1/flux/environments", "clusters/test1/flux/tenants"]
