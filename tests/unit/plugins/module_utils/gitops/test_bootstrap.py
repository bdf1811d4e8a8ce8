"""Unit tests of the flux_bootstrap core: spec validation, the Flux v1 objects, deploy key reuse, redaction,
and the plan/apply loop against an in-memory applier (no API server)."""
from __future__ import annotations

import base64
import copy

import pytest
import yaml

from ansible_collections.tidepool.eks.plugins.module_utils.gitops import bootstrap as fb
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v1 import bootstrap as flux_v1
from ansible_collections.tidepool.eks.plugins.module_utils.k8s import apply as k8s_apply
from ansible_collections.tidepool.eks.plugins.module_utils.k8s import client as k8s_client
from ansible_collections.tidepool.eks.plugins.module_utils.crypto import ssh_keys


def params(pki, **over):
    p = {"cluster": "unit1", "git_url": "git@github.com:tidepool-org/cluster-unit1.git", "git_email": "a@example.com"}
    p.update(pki)
    p.update(over)
    return p


# ------------------------------------------------------------------------------------------ normalize_params

def test_defaults_follow_the_guide(pki):
    spec = fb.normalize_params(params(pki))
    assert spec["git_path"] == "clusters/unit1/flux"
    assert spec["git_label"] == "unit1"
    assert spec["namespace"] == "flux"
    assert (spec["git_poll_interval"], spec["sync_interval"]) == ("1m", "1m")
    assert spec["images"] == flux_v1.DEFAULT_IMAGES
    assert spec["deploy_key_type"] == "ed25519"


@pytest.mark.parametrize("over, fragment", [
    ({"git_path": ""}, "git_path"),
    ({"git_path": "/"}, "git_path"),
    ({"git_path": "a/../.."}, "git_path"),
    ({"cluster": "1bad"}, "cluster="),
    ({"namespace": "Flux"}, "namespace="),
    ({"sync_interval": "1 minute"}, "sync_interval="),
    ({"images": {"fluxd": "x"}}, "images: unknown component(s) fluxd"),
    ({"flux_extra_args": ["connect=ws://x"]}, "flux_extra_args"),
    ({"deploy_key_type": "rsa", "deploy_key_bits": 1024}, "deploy_key_bits=1024"),
    ({"git_email": None}, "git_email is required"),
    ({"flux_version": 2}, "components_path is required"),
    ({"flux_version": 2, "namespace": "flux"}, "installs into flux-system"),
    ({"wait_timeout": 0}, "wait_timeout"),
])
def test_bad_input_names_the_option(pki, over, fragment):
    with pytest.raises(fb.FluxBootstrapError) as err:
        fb.normalize_params(params(pki, **over))
    assert fragment in str(err.value)


def test_absent_needs_no_git_or_tls():
    spec = fb.normalize_params({"cluster": "unit1", "state": "absent"})
    assert spec["state"] == "absent"


# ------------------------------------------------------------------------------------------ deploy key

def test_deploy_key_generated_then_kept_then_rotated(pki):
    spec = fb.normalize_params(params(pki))
    private, info = fb.resolve_deploy_key(spec, None, "identity")
    assert info["action"] == "create" and info["type"] == "ed25519"
    assert info["public_key"].startswith("ssh-ed25519 ") and info["fingerprint"].startswith("SHA256:")
    secret = {"metadata": {"namespace": "flux", "name": "flux-git-deploy"},
              "data": {"identity": base64.b64encode(private).decode()}}
    again, info2 = fb.resolve_deploy_key(spec, secret, "identity")
    assert again == private and info2["action"] == "keep" and info2["public_key"] == info["public_key"]
    rotated, info3 = fb.resolve_deploy_key(dict(spec, rotate_deploy_key=True), secret, "identity")
    assert rotated != private and info3["action"] == "rotate"
    assert "PRIVATE" not in repr(info3) and private.decode() not in repr(info2)


def test_existing_rsa_key_is_kept_when_ed25519_is_asked(pki):
    private, public = ssh_keys.generate("rsa", 2048)
    spec = fb.normalize_params(params(pki))
    secret = {"metadata": {"namespace": "flux", "name": "flux-git-deploy"},
              "data": {"identity": base64.b64encode(private).decode()}}
    _, info = fb.resolve_deploy_key(spec, secret, "identity")
    assert info == {"action": "keep", "type": "rsa", "public_key": public, "fingerprint": ssh_keys.fingerprint(public)}


def test_unusable_stored_key_is_an_error_without_the_value(pki):
    spec = fb.normalize_params(params(pki))
    secret = {"metadata": {"namespace": "flux", "name": "flux-git-deploy"},
              "data": {"identity": base64.b64encode(b"NOT-A-KEY-123").decode()}}
    with pytest.raises(fb.FluxBootstrapError) as err:
        fb.resolve_deploy_key(spec, secret, "identity")
    assert "rotate_deploy_key" in str(err.value) and "NOT-A-KEY" not in str(err.value)


def test_ssh_fingerprint_matches_ssh_keygen_format():
    # RFC 8709 / ssh-keygen: SHA256 over the decoded blob, unpadded base64.
    line = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl comment")
    assert ssh_keys.fingerprint(line) == "SHA256:" + base64.b64encode(
        __import__("hashlib").sha256(base64.b64decode(line.split()[1])).digest()).decode().rstrip("=")
    assert ssh_keys.material(line) == " ".join(line.split()[:2])
    with pytest.raises(ssh_keys.SSHKeyError):
        ssh_keys.split_public("ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl")


# ------------------------------------------------------------------------------------------ redaction

def test_redact_shows_secret_key_names_only():
    before = {"kind": "Secret", "metadata": {"name": "s"}, "data": {"a": "QQ==", "b": "Qg=="}}
    after = {"kind": "Secret", "metadata": {"name": "s"}, "data": {"a": "QQ==", "b": "Qw=="}}
    entry = k8s_apply.diff_entry(before, after)
    assert "QQ==" not in entry["before"] + entry["after"] and "Qw==" not in entry["after"]
    assert yaml.safe_load(entry["after"])["data"] == {"a": k8s_apply.HIDDEN, "b": k8s_apply.HIDDEN_CHANGED}
    assert yaml.safe_load(k8s_apply.diff_entry(None, after)["after"])["data"] == {"a": "<hidden>", "b": "<hidden>"}


# ------------------------------------------------------------------------------------------ run() with a fake

class FakeApplier:
    """In-memory stand-in for k8s_apply.Applier: apply merges like a create/replace, records every write."""

    def __init__(self):
        self.store = {}
        self.writes = []
        self.dry_runs = 0

    @staticmethod
    def key(obj):
        return obj["kind"], obj["metadata"].get("namespace"), obj["metadata"]["name"]

    def get(self, obj):
        live = self.store.get(self.key(obj))
        return copy.deepcopy(live) if live else None

    def apply(self, obj, dry_run=False):
        result = copy.deepcopy(obj)
        if obj["kind"] == "CustomResourceDefinition":
            result["status"] = {"conditions": [{"type": "Established", "status": "True"}]}
        if dry_run:
            self.dry_runs += 1
            return result
        self.store[self.key(obj)] = result
        self.writes.append(("apply", self.key(obj)))
        return result

    def delete(self, obj):
        self.writes.append(("delete", self.key(obj)))
        return self.store.pop(self.key(obj), None) is not None

    def invalidate(self):
        pass

    plan_apply = k8s_apply.Applier.plan_apply


def test_run_is_idempotent_and_check_mode_writes_nothing(pki):
    spec = fb.normalize_params(params(pki, wait=False))
    fake = FakeApplier()
    checked = fb.run(spec, fake, check_mode=True)
    assert checked["changed"] and fake.writes == [] and fake.store == {}
    assert checked["deploy_key"]["public_key"] is None
    assert all(o["action"] == "create" for o in checked["objects"])

    first = fb.run(spec, fake, check_mode=False)
    assert first["changed"] and first["deploy_key"]["action"] == "create"
    n = len(fake.writes)
    second = fb.run(spec, fake, check_mode=False)
    assert not second["changed"] and len(fake.writes) == n and second["diff"] == []
    assert second["deploy_key"]["public_key"] == first["deploy_key"]["public_key"]
    assert second["deploy_key"]["action"] == "keep"
    private = base64.b64decode(fake.store[("Secret", "flux", "flux-git-deploy")]["data"]["identity"]).decode()
    assert private.strip().split("\n")[1] not in repr(first) + repr(second)

    changed = fb.run(dict(spec, git_branch="develop"), fake, check_mode=True)
    updates = [o for o in changed["objects"] if o["action"] == "update"]
    assert [(o["kind"], o["name"]) for o in updates] == [("Deployment", "flux")]
    assert len(fake.writes) == n


def test_absent_reverse_order_keeps_crd_and_key(pki):
    spec = fb.normalize_params(params(pki, wait=False))
    fake = FakeApplier()
    fb.run(spec, fake, check_mode=False)
    fake.writes.clear()
    gone = fb.run(fb.normalize_params({"cluster": "unit1", "state": "absent", "keep_deploy_key": True}), fake, False)
    deleted = [k for op, k in fake.writes if op == "delete"]
    assert gone["changed"] and deleted[0] == ("Deployment", "flux", "flux-helm-operator")
    assert ("Secret", "flux", "flux-git-deploy") in fake.store and ("Namespace", None, "flux") in fake.store
    assert ("CustomResourceDefinition", None, "helmreleases.helm.fluxcd.io") in fake.store
    again = fb.run(fb.normalize_params({"cluster": "unit1", "state": "absent", "keep_deploy_key": True}), fake, False)
    assert not again["changed"]


def test_wait_timeout_message_names_the_deployment(pki):
    spec = fb.normalize_params(params(pki, wait=True, wait_timeout=1))
    fake = FakeApplier()
    with pytest.raises(k8s_client.KubeError) as err:
        fb.run(spec, fake, check_mode=False, sleep=lambda _s: None)
    msg = str(err.value)
    assert msg.startswith("Timed out after 1 seconds waiting for Deployment flux/memcached")
    assert "0 of 1 replicas available" in msg and "wait: false" in msg


def test_check_mode_predicts_without_tls_files_and_real_run_fails(pki, tmp_path):
    spec = fb.normalize_params(params(pki, tiller_tls_dir=str(tmp_path / "not-issued-yet"), wait=False))
    fake = FakeApplier()
    result = fb.run(spec, fake, check_mode=True)
    assert result["changed"] and "Check mode" in result["warnings"][0] and fake.writes == []
    with pytest.raises(fb.FluxBootstrapError, match="tiller_tls_dir: cannot read"):
        fb.run(spec, fake, check_mode=False)
    assert fake.writes == []


class _ValidatingApplier:
    """Serves v1 and apps/v1 only; refuses a ConfigMap with an int value like the API server would."""

    class _NS:
        def get(self):
            class R:
                def to_dict(self_inner):
                    return {"items": [{"metadata": {"name": "default"}}]}
            return R()

    def __init__(self):
        self.client = type("C", (), {"resources": type("R", (), {"get": lambda _s, **kw: _ValidatingApplier._NS()})()})()
        self.sent = []

    def resource(self, obj):
        if obj["apiVersion"] not in ("v1", "apps/v1"):
            raise k8s_client.KubeError(f"The API server does not serve {obj['apiVersion']} {obj['kind']}")
        return obj

    def apply(self, obj, dry_run=False):
        assert dry_run
        self.sent.append(obj)
        if any(not isinstance(v, str) for v in (obj.get("data") or {}).values()):
            raise k8s_client.KubeError(f"Server-side dry run of {k8s_apply.describe(obj)} was refused: data must be strings")
        return obj


def test_validate_objects_fallback_namespace_skips_and_errors():
    objs = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "qa9"}, "data": {"k": 1}},
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b", "namespace": "default"}, "data": {"k": "v"}},
            {"apiVersion": "example.org/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "qa9"}},
            {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": "gadgets.example.com"},
             "spec": {"group": "example.com", "names": {"kind": "Gadget"}}},
            {"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g", "namespace": "qa9"}}]
    fake = _ValidatingApplier()
    result = k8s_apply.validate_objects(fake, objs)
    assert result["validated"] == 1
    assert result["errors"][0].startswith("Server-side dry run of ConfigMap qa9/a was refused")  # named as rendered
    assert fake.sent[0]["metadata"]["namespace"] == "default"      # checked in the fallback namespace
    assert "example.org/v1 Widget" in result["errors"][1] and len(result["errors"]) == 3  # the CRD itself is unserved here
    assert result["skipped"] == ["Gadget qa9/g: its CustomResourceDefinition is not installed yet"]
    lenient = k8s_apply.validate_objects(_ValidatingApplier(), objs, skip_unserved=True)
    assert len(lenient["errors"]) == 1 and len(lenient["skipped"]) == 3


def test_a_refused_object_stops_the_run_before_any_write(pki):
    spec = fb.normalize_params(params(pki, wait=False))
    fake = FakeApplier()
    fb.run(spec, fake, check_mode=False)
    fake.writes.clear()
    original = fake.apply

    def refuse_tiller(obj, dry_run=False):
        if obj["kind"] == "Deployment" and obj["metadata"]["name"] == "tiller-deploy":
            raise k8s_client.KubeError("Server-side dry run of Deployment flux/tiller-deploy was refused")
        return original(obj, dry_run)
    fake.apply = refuse_tiller
    with pytest.raises(k8s_client.KubeError, match="tiller-deploy"):
        fb.run(dict(spec, git_branch="develop"), fake, check_mode=False)   # flux Deployment would change first
    assert fake.writes == []


def test_tls_is_required_only_by_a_flavour_that_needs_it(monkeypatch):
    from ansible_collections.tidepool.eks.plugins.module_utils.gitops import registry
    from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v1.flavour import FluxV1

    class WithoutTiller(FluxV1):
        VERSION = 9
        NEEDS_TILLER_TLS = False
        BOOTSTRAP_REQUIRED = ()

    monkeypatch.setitem(registry.FLAVOURS, 9, WithoutTiller())
    spec = fb.normalize_params({"cluster": "unit1", "flux_version": 9, "git_url": "file:///x", "git_email": "a@b.c"})
    assert spec["flux_version"] == 9 and "tiller_tls_dir" not in spec
    with pytest.raises(fb.FluxBootstrapError, match="tiller_tls_dir is required"):
        fb.normalize_params({"cluster": "unit1", "git_url": "file:///x", "git_email": "a@b.c"})
