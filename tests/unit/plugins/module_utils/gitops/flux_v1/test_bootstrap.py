"""The Flux v1 bootstrap objects (what flux_bootstrap applies for flux_version 1) and the embedded CRD."""
from __future__ import annotations

import base64

import pytest
import yaml

from ansible_collections.tidepool.eks.plugins.module_utils.config import packages
from ansible_collections.tidepool.eks.plugins.module_utils.gitops import bootstrap as fb
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v1 import bootstrap as flux_v1
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v1 import tls as tls_files
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v1.flavour import FluxV1
from ansible_collections.tidepool.eks.plugins.module_utils.k8s.objects import with_labels
from tests.support.helpers import SHARED


def params(pki, **over):
    p = {"cluster": "unit1", "git_url": "git@github.com:tidepool-org/cluster-unit1.git", "git_email": "a@example.com"}
    p.update(pki)
    p.update(over)
    return p


def by_name(objs, kind, name):
    found = [o for o in objs if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, (kind, name)
    return found[0]


def test_v1_objects(pki):
    spec = fb.normalize_params(params(pki, images={"flux": "example/flux:9"}, flux_extra_args=["--connect=ws://fluxcloud"]))
    tls = tls_files.read_tls(spec)
    objs = flux_v1.objects(spec, b"PRIVATE", tls)
    assert objs[0]["kind"] == "Namespace" and objs[0]["metadata"]["name"] == "flux"
    assert objs[1]["kind"] == "CustomResourceDefinition"
    names = {(o["kind"], o["metadata"]["name"]) for o in objs}
    assert len(names) == len(objs)  # no duplicates
    for expected in [("Deployment", "flux"), ("Deployment", "memcached"), ("Deployment", "flux-helm-operator"),
                     ("Deployment", "tiller-deploy"), ("Service", "tiller-deploy"), ("Secret", "flux-git-deploy"),
                     ("Secret", "tiller-secret"), ("Secret", "flux-helm-tls-cert"), ("Secret", "flux-helm-repositories"),
                     ("ConfigMap", "tiller-ca-cert"), ("ClusterRoleBinding", "flux"), ("ServiceAccount", "helm")]:
        assert expected in names
    flux = by_name(objs, "Deployment", "flux")
    container = flux["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "example/flux:9"
    args = container["args"]
    for arg in ("--git-url=git@github.com:tidepool-org/cluster-unit1.git", "--git-branch=master",
                "--git-path=clusters/unit1/flux", "--git-label=unit1", "--git-email=a@example.com",
                "--git-user=Flux", "--git-poll-interval=1m", "--sync-interval=1m", "--sync-garbage-collection=true",
                "--k8s-secret-name=flux-git-deploy", "--connect=ws://fluxcloud"):
        assert arg in args
    key = by_name(objs, "Secret", "flux-git-deploy")
    assert base64.b64decode(key["data"]["identity"]) == b"PRIVATE"
    tiller = by_name(objs, "Deployment", "tiller-deploy")["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e["value"] for e in tiller["env"]}
    assert env["TILLER_TLS_VERIFY"] == "1" and env["TILLER_HISTORY_MAX"] == "10" and env["TILLER_NAMESPACE"] == "flux"
    ts = by_name(objs, "Secret", "tiller-secret")["data"]
    assert base64.b64decode(ts["tls.crt"]) == tls["server_cert"] and set(ts) == {"ca.crt", "tls.crt", "tls.key"}
    op = by_name(objs, "Deployment", "flux-helm-operator")["spec"]["template"]["spec"]
    assert "--tiller-tls-verify=true" in op["containers"][0]["args"]
    assert {v["name"] for v in op["volumes"]} >= {"repositories-yaml", "repositories-cache", "helm-tls-certs"}
    repos_secret = by_name(objs, "Secret", "flux-helm-repositories")
    repos = yaml.safe_load(repos_secret["stringData"]["repositories.yaml"])
    assert {r["name"] for r in repos["repositories"]} >= {"stable", "fluxcd", "jetstack"}
    # the config repository renders the same namespace and repositories Secret (pkgs.flux): identical objects
    rendered = [with_labels(o, "unit1", part) for o, part in zip(packages.PKG_BUILDERS["flux"]({}, FluxV1()),
                                                                 ("cluster", "shared"))]
    assert rendered == [objs[0], repos_secret]
    for obj in objs:
        if obj in rendered:
            continue
        assert obj["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "tidepool.eks"
        if obj["kind"] not in ("Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding"):
            assert obj["metadata"]["namespace"] == "flux"


def test_with_a_chart_mirror_the_bootstrap_and_the_render_write_the_same_repositories_secret(pki):
    # two writers of flux/flux-helm-repositories (the flux step and the shared part): if they disagree, each run of
    # site.yml changes it twice (the local stack's rerun showed it)
    mirror = "http://127.0.0.1:19420"
    spec = fb.normalize_params(params(pki, chart_mirror=mirror))
    objs = flux_v1.objects(spec, b"PRIVATE", tls_files.read_tls(spec))
    repos_secret = by_name(objs, "Secret", "flux-helm-repositories")
    repos = yaml.safe_load(repos_secret["stringData"]["repositories.yaml"])["repositories"]
    assert repos[-1] == {"name": "mirror", "url": mirror, "cache": "mirror-index.yaml"}
    rendered = packages.PKG_BUILDERS["flux"]({"helm_chart_mirror": mirror}, FluxV1())[1]
    assert with_labels(rendered, "unit1", "shared") == repos_secret


def test_embedded_crd_equals_reference():
    ref = SHARED / "reference" / "crds" / "helm-operator" / "helm.fluxcd.io_helmreleases.yaml"
    if not ref.exists():
        pytest.skip(f"reference CRDs not found at {ref}")
    shipped = flux_v1.helmrelease_crd({"labels": {}})
    upstream = yaml.safe_load(ref.read_text())
    assert shipped["spec"] == upstream["spec"]
    assert shipped["metadata"]["name"] == upstream["metadata"]["name"] == "helmreleases.helm.fluxcd.io"
