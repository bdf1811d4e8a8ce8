"""`ansible-playbook site.yml -l test2` (flux_version 2) renders the current stack's config repository offline, and
every object of it passes the config role's server-side dry run (config_validate: server) against the reference
CRDs installed in the local stack's API server, CEL rules included; switching test2 to flux_version 1 and back
renders the matching tree each time."""
from __future__ import annotations

import hashlib
import subprocess
import sys

import pytest
import yaml

from ansible_collections.tidepool.eks.plugins.module_utils.gitops import registry
from ansible_collections.tidepool.eks.plugins.module_utils.config import tree as config_tree
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v2 import components
from tests.support import charts
from tests.support.helpers import AWS_ENV, REPO, recap, run_playbook
from tests.support.inventory import load_values
from tests.support.schemas import REF

pytestmark = pytest.mark.integration


def _git(*args) -> str:
    return subprocess.run(["git", *args], check=True, capture_output=True, text=True).stdout


FLUX_SYSTEM = "clusters/test2/flux/flux-system/"


def _files(bare) -> dict:
    """The tree's objects by path; the flux-system files (multi-document, Flux v2's bootstrap) are checked apart."""
    names = _git("--git-dir", str(bare), "ls-tree", "-r", "--name-only", "master").split()
    return {n: yaml.safe_load(_git("--git-dir", str(bare), "show", f"master:{n}")) for n in names
            if not n.startswith(FLUX_SYSTEM)}


def _flux_system(bare) -> dict:
    names = _git("--git-dir", str(bare), "ls-tree", "-r", "--name-only", "master").split()
    return {n[len(FLUX_SYSTEM):]: list(yaml.safe_load_all(_git("--git-dir", str(bare), "show", f"master:{n}")))
            for n in names if n.startswith(FLUX_SYSTEM)}


@pytest.fixture()
def run(tmp_path, kube_stack):
    bare = tmp_path / "cluster-test2.git"
    _git("init", "-q", "--bare", "--initial-branch", "master", str(bare))
    home = tmp_path / "home"
    home.mkdir()

    mirror = tmp_path / "install.yaml"   # the offline components (what the local stack's mirror holds)
    mirror.write_text(components.dump(components.assemble(components.crd_files(str(REF / "crds" / "flux2")))))

    def _run(**extra):
        extra_vars = {"config_repo_url": f"file://{bare}", "config_repo_workdir": str(tmp_path / "checkout"),
                      "flux_v2_components_url": f"file://{mirror}",
                      "flux_v2_components_sha256": hashlib.sha256(mirror.read_bytes()).hexdigest(),
                      "config_validate": "server", "kubeconfig": str(kube_stack.kubeconfig),
                      # the local stack stands in for test2's EKS cluster: the objects are checked against it as an
                      # existing cluster (the preflight would otherwise look for eksctl's context of test2)
                      "cluster_provider": "existing", "kubernetes_api_server": kube_stack.server, **extra}
        # the config step only: the later steps would treat the stand-in as test2's cluster and apply to it
        proc = run_playbook("site.yml", limit="test2", extra_vars=extra_vars, env={"HOME": str(home)},
                            env_remove=AWS_ENV, args=["--tags", "config"])
        assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
        return proc, _files(bare)
    _run.bare = bare
    return _run


def _test2_tree():
    values = load_values("test2")
    return config_tree.render_tree(values, registry.for_values(values))


def test_test2_tree_is_rendered_and_every_object_passes_the_server_side_dry_run(run):
    proc, files = run()
    assert recap(proc.stdout)["test2"]["failed"] == 0
    assert "Check the rendered objects with a server-side dry run" in proc.stdout
    validate = proc.stdout.split("server-side dry run (config_validate)")[1].split("TASK")[0]
    assert "skipping" not in validate and ("ok: [test2]" in validate or "changed: [test2]" in validate), validate
    assert files == _test2_tree()
    kinds = {f"{o['apiVersion']}/{o['kind']}" for o in files.values()}
    assert "helm.toolkit.fluxcd.io/v2/HelmRelease" in kinds and "external-secrets.io/v1/SecretStore" in kinds
    assert not [k for k in kinds if k.startswith(("helm.fluxcd.io/", "kubernetes-client.io/"))]
    flux_system = _flux_system(run.bare)
    assert sorted(flux_system) == ["gotk-components.yaml", "gotk-sync.yaml", "kustomization.yaml"]
    git, kustomization = flux_system["gotk-sync.yaml"]
    assert git["spec"]["url"] == "ssh://git@github.com/tidepool-org/cluster-test2.git"
    assert kustomization["spec"]["path"] == "./clusters/test2/flux" and kustomization["spec"]["prune"] is True
    assert {o["kind"] for o in flux_system["gotk-components.yaml"]} >= {"CustomResourceDefinition", "Deployment"}


def test_flux_version_1_then_2_renders_the_matching_tree_each_time(run):
    _proc, v1 = run(flux_version=1)
    assert any(o["apiVersion"] == "helm.fluxcd.io/v1" for o in v1.values())
    assert _flux_system(run.bare) == {}
    _proc, v2 = run()
    assert v2 == _test2_tree()
    assert not any(o["apiVersion"] == "helm.fluxcd.io/v1" for o in v2.values())


def test_the_stack_enforces_the_crds_cel_rules(kube_stack):
    # The same dry run refuses what only a CEL rule forbids (HelmRelease: chart and chartRef together), so the
    # flavour-2 tree above passed the CEL rules too, not only the OpenAPI schema.
    hr = _test2_tree()["clusters/test2/flux/environments/qa2/helmrelease-tidepool.yaml"]
    hr["metadata"]["namespace"] = "default"
    hr["spec"]["chartRef"] = {"kind": "OCIRepository", "name": "tidepool"}
    proc = kube_stack.kubectl("apply", "--server-side", "--dry-run=server", "-f", "-", check=False,
                              input=yaml.safe_dump(hr))
    assert proc.returncode != 0 and "chartRef" in proc.stderr, proc.stderr


def test_test2_renders_offline_from_the_stacks_mirror_without_extra_variables(tmp_path):
    """ISSUE15 Shows 1: `site.yml -l test2 -e config_repo_url=file://...` and nothing else; the components come from
    the mirror `scripts/local-stack build flux-mirror` assembles (here into a throw-away cache, from the stack's built
    controllers), checked against the collection's pin (issue 24), never a sha256 beside it."""
    sys.path.insert(0, str(REPO / "scripts"))
    from local_stack import flux_mirror  # pylint: disable=import-outside-toplevel

    cache = tmp_path / "cache"
    path, digest, _changed = flux_mirror.build(cache / "mirror")   # checked against flux_mirror.pin()
    bare = tmp_path / "cluster-test2.git"
    _git("init", "-q", "--bare", "--initial-branch", "master", str(bare))
    proc = run_playbook("site.yml", limit="test2", extra_vars={"config_repo_url": f"file://{bare}"},
                        env={"HOME": str(tmp_path), "TIDEPOOL_EKS_CACHE": str(cache)}, env_remove=AWS_ENV)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert recap(proc.stdout)["test2"]["failed"] == 0
    text = _git("--git-dir", str(bare), "show", f"master:{FLUX_SYSTEM}gotk-components.yaml")
    # the mirror's bytes (the file lookup of the config role drops the final newline)
    assert text.rstrip("\n") == path.read_text().rstrip("\n")
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest


def test_a_tampered_mirror_with_a_matching_sha256_beside_it_is_refused(tmp_path):
    """Issue 24: the mirror's digest is pinned in the collection; a file changed on disk, with a `.sha256` beside it
    that matches the change, is refused before anything is committed."""
    sys.path.insert(0, str(REPO / "scripts"))
    from local_stack import flux_mirror  # pylint: disable=import-outside-toplevel

    cache = tmp_path / "cache"
    path, digest, _changed = flux_mirror.build(cache / "mirror")
    tampered = path.read_text() + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: planted, namespace: flux-system}\n"
    path.write_text(tampered)
    fake = hashlib.sha256(tampered.encode()).hexdigest()
    (path.parent / "install.yaml.sha256").write_text(f"{fake}  install.yaml\n")
    bare = tmp_path / "cluster-test2.git"
    _git("init", "-q", "--bare", "--initial-branch", "master", str(bare))
    proc = run_playbook("site.yml", limit="test2", extra_vars={"config_repo_url": f"file://{bare}"},
                        env={"HOME": str(tmp_path), "TIDEPOOL_EKS_CACHE": str(cache)}, env_remove=AWS_ENV)
    out = " ".join(proc.stdout.split())
    assert proc.returncode != 0, out[-3000:]
    assert f"has sha256 {fake}, not the pinned flux_v2_components_sha256 {digest}" in out, out[-3000:]
    assert _git("--git-dir", str(bare), "rev-list", "--all") == ""   # nothing committed


def test_test1_switched_to_flavour_2_renders_the_pinned_flux_clis_components_with_no_digest(tmp_path, kube_stack):
    """Issue 26: `site.yml -l test1 -e flux_version=2` needs no digest copied by hand: test1 pins no components file,
    so gotk-components.yaml is what the flux CLI of flux_v2_release prints (`flux install --export`, as `flux
    bootstrap` writes it), here the stack's build of that release standing in for the tools role's download."""
    cli = charts.flux_cli()
    bare = tmp_path / "cluster-test1.git"
    _git("init", "-q", "--bare", "--initial-branch", "master", str(bare))
    home = tmp_path / "home"
    home.mkdir()
    extra_vars = {"flux_version": 2, "config_repo_url": f"file://{bare}",
                  "config_repo_workdir": str(tmp_path / "checkout"), "flux_v2_cli": str(cli),
                  # test1's own config repository, the one Flux syncs (file:// is only where this test pushes)
                  "flux_git_url": "git@github.com:tidepool-org/cluster-test1.git",
                  "config_validate": "server", "kubeconfig": str(kube_stack.kubeconfig),
                  "cluster_provider": "existing", "kubernetes_api_server": kube_stack.server}
    proc = run_playbook("site.yml", limit="test1", extra_vars=extra_vars, env={"HOME": str(home)},
                        env_remove=AWS_ENV, args=["--tags", "config"])
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert "flux_v2_components_sha256" not in proc.stdout
    exported = subprocess.run([str(cli), "install", "--export",
                               "--components-extra=image-reflector-controller,image-automation-controller"],
                              env={"PATH": "/usr/bin:/bin", "KUBECONFIG": "/dev/null", "HOME": str(home)},
                              check=True, capture_output=True, text=True).stdout
    committed = _git("--git-dir", str(bare), "show", "master:clusters/test1/flux/flux-system/gotk-components.yaml")
    objects = [d for d in yaml.safe_load_all(committed) if d]
    assert objects == [d for d in yaml.safe_load_all(exported) if d]
    images = {c["image"] for d in objects if d["kind"] == "Deployment"
              for c in d["spec"]["template"]["spec"]["containers"]}
    assert images == {components.image(name) for name in components.CONTROLLERS}   # the one Flux release
    cache = home / ".cache" / "tidepool-eks" / "flux2" / components.FLUX_VERSION
    assert (cache / "flux-install-export.yaml").is_file() and not (cache / "install.yaml").exists()
