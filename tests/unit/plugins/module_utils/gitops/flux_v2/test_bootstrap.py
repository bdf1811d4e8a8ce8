"""Flux v2 bootstrap: the offline components, the sync objects, the deploy key Secret's shape, the config repository
files, and flux_bootstrap's plan/apply loop for flux_version 2 against an in-memory applier."""
from __future__ import annotations

import base64

import pytest
import yaml

from ansible_collections.tidepool.eks.plugins.module_utils.crypto import ssh_keys
from ansible_collections.tidepool.eks.plugins.module_utils.gitops import bootstrap as fb
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.errors import FluxBootstrapError
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v2 import bootstrap as v2
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v2 import components

from tests.support.schemas import REF
from tests.unit.plugins.module_utils.gitops.test_bootstrap import FakeApplier

CRDS = REF / "crds" / "flux2"


@pytest.fixture(scope="module")
def components_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("flux2") / "install.yaml"
    path.write_text(components.dump(components.assemble(components.crd_files(str(CRDS)))))
    return str(path)


def spec_for(components_file, **over):
    p = {"cluster": "unit2", "flux_version": 2, "git_url": "git@github.com:tidepool-org/cluster-unit2.git",
         "git_email": "a@example.com", "components_path": components_file, "wait": False}
    p.update(over)
    return fb.normalize_params(p)


def test_offline_components_hold_the_crds_and_the_pinned_controllers(components_file):
    objs = components.parse(open(components_file).read())
    assert objs[0]["kind"] == "Namespace" and objs[0]["metadata"]["name"] == "flux-system"
    crds = {o["metadata"]["name"] for o in objs if o["kind"] == "CustomResourceDefinition"}
    assert {"gitrepositories.source.toolkit.fluxcd.io", "kustomizations.kustomize.toolkit.fluxcd.io",
            "helmreleases.helm.toolkit.fluxcd.io", "alerts.notification.toolkit.fluxcd.io"} <= crds
    images = {o["metadata"]["name"]: o["spec"]["template"]["spec"]["containers"][0]["image"]
              for o in objs if o["kind"] == "Deployment"}
    assert images == {"source-controller": "ghcr.io/fluxcd/source-controller:v1.9.4",
                      "kustomize-controller": "ghcr.io/fluxcd/kustomize-controller:v1.9.4",
                      "helm-controller": "ghcr.io/fluxcd/helm-controller:v1.6.3",
                      "notification-controller": "ghcr.io/fluxcd/notification-controller:v1.9.3",
                      "image-reflector-controller": "ghcr.io/fluxcd/image-reflector-controller:v1.2.4",
                      "image-automation-controller": "ghcr.io/fluxcd/image-automation-controller:v1.2.4"}
    reconciler = next(o for o in objs if o["metadata"]["name"] == "cluster-reconciler-flux-system")
    assert {s["name"] for s in reconciler["subjects"]} == {"kustomize-controller", "helm-controller"}


def test_a_file_that_is_not_a_flux_install_is_refused(tmp_path):
    with pytest.raises(FluxBootstrapError, match="is not a Flux install"):
        components.parse("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n", "x.yaml")
    path = tmp_path / "i.yaml"
    path.write_text("---\n")
    with pytest.raises(FluxBootstrapError, match="does not match its pinned sha256"):
        components.read(str(path), "0" * 64)
    with pytest.raises(FluxBootstrapError, match="components_path="):
        components.read(str(tmp_path / "missing.yaml"))


def test_sync_objects_follow_flux_bootstrap(components_file):
    text = open(components_file).read()
    files = v2.repository_files("clusters/unit2/flux", text, "git@github.com:tidepool-org/cluster-unit2.git", "master")
    base = "clusters/unit2/flux/flux-system/"
    assert files[base + "gotk-components.yaml"] == text
    git, kust = yaml.safe_load_all(files[base + "gotk-sync.yaml"])
    kustomization = yaml.safe_load(files[base + "kustomization.yaml"])
    assert git["kind"] == "GitRepository" and git["metadata"] == {"name": "flux-system", "namespace": "flux-system"}
    assert git["spec"]["url"] == "ssh://git@github.com/tidepool-org/cluster-unit2.git"
    assert git["spec"]["secretRef"] == {"name": "flux-system"} and git["spec"]["ref"] == {"branch": "master"}
    assert kust["spec"]["path"] == "./clusters/unit2/flux" and kust["spec"]["prune"] is True
    assert kust["spec"]["sourceRef"] == {"kind": "GitRepository", "name": "flux-system"}
    assert kustomization["resources"] == ["gotk-components.yaml", "gotk-sync.yaml"]
    with pytest.raises(FluxBootstrapError, match="git_url='git://h/r.git'"):
        v2.sync_url("git://h/r.git")


def test_deploy_key_secret_has_the_keys_flux_bootstrap_writes(components_file):
    private, public = ssh_keys.generate()
    secret = v2.deploy_key_secret(spec_for(components_file), private)
    assert secret["metadata"] == {"name": "flux-system", "namespace": "flux-system"}
    data = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    assert set(data) == {"identity", "identity.pub", "known_hosts"}
    assert data["identity"] == private.decode() and data["identity.pub"].strip() == public.strip()
    assert data["known_hosts"].startswith("github.com ssh-ed25519 ")
    fingerprints = {ssh_keys.fingerprint(line.split(" ", 1)[1]) for line in data["known_hosts"].splitlines()}
    assert "SHA256:+DiY3wvvV6TuJJhbpZisF/zLDA0zPMSvHdkr4UvCOqU" in fingerprints   # GitHub's published ed25519 key
    with pytest.raises(FluxBootstrapError, match="known_hosts is required for the SSH host git.example.org"):
        v2.deploy_key_secret(spec_for(components_file, git_url="git@git.example.org:o/r.git"), private)
    own = v2.deploy_key_secret(spec_for(components_file, known_hosts="h ssh-ed25519 AAAA"), private)
    assert base64.b64decode(own["data"]["known_hosts"]) == b"h ssh-ed25519 AAAA\n"


def test_run_applies_crds_before_their_objects_is_idempotent_and_check_mode_writes_nothing(components_file):
    spec = spec_for(components_file)
    fake = FakeApplier()
    checked = fb.run(spec, fake, check_mode=True)
    assert checked["changed"] and fake.writes == [] and checked["deploy_key"]["secret"] == "flux-system/flux-system"
    first = fb.run(spec, fake, check_mode=False)
    applied = [k for _op, k in fake.writes]
    assert applied[0] == ("Namespace", None, "flux-system")
    assert applied.index(("GitRepository", "flux-system", "flux-system")) > max(
        i for i, k in enumerate(applied) if k[0] == "CustomResourceDefinition")
    assert ("Deployment", "flux-system", "helm-controller") in fake.store
    n = len(fake.writes)
    second = fb.run(spec, fake, check_mode=False)
    assert not second["changed"] and len(fake.writes) == n
    private = base64.b64decode(fake.store[("Secret", "flux-system", "flux-system")]["data"]["identity"]).decode()
    assert private.strip().split("\n")[1] not in repr(first) + repr(second)

    gone = fb.run(fb.normalize_params({"cluster": "unit2", "flux_version": 2, "state": "absent"}), fake, False)
    deleted = [k for op, k in fake.writes[n:] if op == "delete"]
    assert gone["changed"] and deleted[0] == ("Kustomization", "flux-system", "flux-system")
    assert fake.writes[n] == ("apply", ("Kustomization", "flux-system", "flux-system"))   # suspended first
    assert ("Namespace", None, "flux-system") not in fake.store
    assert any(k[0] == "CustomResourceDefinition" for k in fake.store)   # the CRDs stay


@pytest.mark.parametrize("given, canonical", [("1m", "1m0s"), ("1m0s", "1m0s"), ("90s", "1m30s"), ("10m", "10m0s"),
                                              ("1h", "1h0m0s"), ("30s", "30s"), ("500ms", "500ms")])
def test_sync_intervals_in_gos_canonical_form(given, canonical):
    """flux_bootstrap (flux_git_poll_interval 1m) and the repository's gotk-sync.yaml write the same interval, so
    Flux's own sync of gotk-sync.yaml does not change what flux_bootstrap applied (second run changed=0)."""
    assert v2.go_duration(given) == canonical
    assert v2.sync_objects("clusters/c/flux", "https://h/r.git", "main", given)[0]["spec"]["interval"] == canonical


# --- an https URL with a token: the credentials live in the Secret, never in the URL ---------------------------------

TOKEN = "ghp_UnitToKeN0123456789abcdef"
TOKEN_URL = f"https://x-access-token:{TOKEN}@github.com/tidepool-org/cluster-unit2.git"


def test_the_config_repository_files_never_carry_the_token(components_file):
    files = v2.repository_files("clusters/unit2/flux", open(components_file).read(), TOKEN_URL, "master")
    assert not any(TOKEN in text or "x-access-token" in text for text in files.values())
    git = next(yaml.safe_load_all(files["clusters/unit2/flux/flux-system/gotk-sync.yaml"]))
    assert git["spec"]["url"] == "https://github.com/tidepool-org/cluster-unit2.git"
    assert git["spec"]["secretRef"] == {"name": "flux-system"}


@pytest.mark.parametrize("given", [{"git_url": TOKEN_URL},
                                   {"git_url": "https://github.com/tidepool-org/cluster-unit2.git",
                                    "git_userinfo": f"x-access-token:{TOKEN}"}])
def test_the_gitrepository_reads_the_token_from_its_secret_ref(components_file, given):
    spec = spec_for(components_file, **given)
    assert spec["git_url"] == "https://github.com/tidepool-org/cluster-unit2.git"
    fake = FakeApplier()
    result = fb.run(spec, fake, check_mode=False)
    git = fake.store[("GitRepository", "flux-system", "flux-system")]
    assert git["spec"]["url"] == "https://github.com/tidepool-org/cluster-unit2.git"
    assert git["spec"]["secretRef"] == {"name": "flux-system"}
    data = fake.store[("Secret", "flux-system", "flux-system")]["data"]
    assert base64.b64decode(data["username"]) == b"x-access-token" and base64.b64decode(data["password"]) == TOKEN.encode()
    assert result["git"]["url"] == "https://github.com/tidepool-org/cluster-unit2.git"
    assert TOKEN not in repr(result) and base64.b64encode(TOKEN.encode()).decode() not in repr(result)  # diff too
    # the token removed from the URL: the Secret loses username/password (server-side apply drops them)
    again = fb.run(spec_for(components_file, git_url="https://github.com/tidepool-org/cluster-unit2.git"), fake, False)
    assert again["changed"]
    assert "password" not in fake.store[("Secret", "flux-system", "flux-system")]["data"]


@pytest.mark.parametrize("over, message", [
    ({"git_url": TOKEN_URL, "git_userinfo": "a:b"}, "give them once"),
    ({"git_url": "git@github.com:o/r.git", "git_userinfo": "a:b"}, "only for an http"),
    ({"flux_version": 1, "git_url": TOKEN_URL}, "git_url https://github.com/tidepool-org/cluster-unit2.git carries "
                                                "credentials: flux_version 1 would store them"),
])
def test_credentials_given_twice_for_ssh_or_to_flux_v1_are_refused_without_showing_them(components_file, over, message):
    with pytest.raises(FluxBootstrapError, match=message) as info:
        spec_for(components_file, **over)
    assert TOKEN not in str(info.value) and ":b" not in str(info.value)
