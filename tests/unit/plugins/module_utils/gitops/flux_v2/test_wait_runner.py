"""The runner of flux_wait (gitops/flux_v2/wait_runner.py) over an in-memory cluster: what it writes (only the
annotations, only when needed), each Secret read once per round, the values compared and never returned."""
from __future__ import annotations

import base64
import copy
import json

import pytest
from botocore.exceptions import ClientError

from ansible_collections.tidepool.eks.plugins.module_utils.aws.connection import AwsError
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v2 import external_secrets, wait, wait_runner

SHA = "55bdd856c1ecdefb0a652484df23db8355450dea"
VALUE = "s3cr\u00e9t"


def key(obj):
    meta = obj["metadata"]
    return obj["kind"], meta.get("namespace"), meta["name"]


class Applier:
    """get/apply of objects by (kind, namespace, name); counts the reads of each Secret, records every apply."""

    def __init__(self, *objects):
        self.objects = {key(o): copy.deepcopy(o) for o in objects}
        self.applied, self.secret_reads = [], {}

    def get(self, obj):
        if obj["kind"] == "Secret":
            self.secret_reads[key(obj)] = self.secret_reads.get(key(obj), 0) + 1
        found = self.objects.get(key(obj))
        return copy.deepcopy(found) if found is not None else None

    def apply(self, obj):
        self.applied.append(copy.deepcopy(obj))
        live = self.objects[key(obj)]
        live["metadata"].setdefault("annotations", {}).update(obj["metadata"].get("annotations") or {})
        return live

    def list_objects(self, api_version, kind, namespace=None):
        return [copy.deepcopy(o) for o in self.objects.values() if (o["apiVersion"], o["kind"]) == (api_version, kind)
                and namespace in (None, o["metadata"].get("namespace"))]


def flux(api_version_kind, applied=None):
    api_version, kind = api_version_kind
    status = {"lastAppliedRevision": f"master@sha1:{applied}"} if applied else {}
    return {"apiVersion": api_version, "kind": kind, "status": status,
            "metadata": {"name": "flux-system", "namespace": "flux-system", "generation": 1}}


def secret(namespace, name, **data):
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": namespace},
            "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}}


def external_secret(namespace, name, keys):
    return external_secrets.manifest({"name": name, "namespace": namespace}, f"c1/{namespace}/{name}", keys)


def run(applier, **options):
    objects = wait_runner.ClusterObjects(applier, applier.list_objects)
    return wait_runner.poll(objects, SHA, poll_seconds=0, sleep=lambda s: None, now=lambda: 1764528000.0, **options)


def test_a_commit_not_applied_yet_gets_one_reconcile_request_annotation_only():
    applier = Applier(flux(wait.KUSTOMIZATION, applied="0" * 40), flux(wait.SOURCE))
    out = run(applier)
    assert out["changed"] is True and out["requested"] is True and out["done"] is False
    assert [(o["kind"], o["metadata"]) for o in applier.applied] == [
        (kind, {"name": "flux-system", "namespace": "flux-system",
                "annotations": {wait.REQUESTED_AT: f"2025-11-30T18:40:00Z {SHA}"}})
        for kind in ("GitRepository", "Kustomization")]
    assert run(applier)["changed"] is False and len(applier.applied) == 2  # requested already: no second write


def test_check_mode_writes_nothing():
    applier = Applier(flux(wait.KUSTOMIZATION, applied="0" * 40), flux(wait.SOURCE))
    out = run(applier, check_mode=True)
    assert out["changed"] is False and applier.applied == []


def test_values_are_compared_on_the_secrets_the_last_round_read_and_never_returned():
    remote_store = {"c1/qa1/auth": json.dumps({"password": VALUE}), "c1/qa1/user": json.dumps({"login": "n3w-v4lue"})}
    applier = Applier(flux(wait.KUSTOMIZATION, applied=SHA), flux(wait.SOURCE),
                      external_secret("qa1", "auth", ["password"]), external_secret("qa1", "user", ["login"]),
                      secret("qa1", "auth", password=VALUE), secret("qa1", "user", login="stale"))
    out = run(applier, remote=remote_store.get)
    assert out["done"] is True and out["changed"] is False and applier.applied == []
    assert out["values"] == {"equal": ["qa1/auth"], "differ": ["qa1/user"], "not_compared": []}
    assert applier.secret_reads == {("Secret", "qa1", "auth"): 1, ("Secret", "qa1", "user"): 1}
    assert VALUE not in repr(out) and "stale" not in repr(out) and "n3w-v4lue" not in repr(out)


def test_a_failed_external_secret_is_nudged_with_force_sync():
    failed = external_secret("qa1", "auth", ["password"])
    failed["status"] = {"conditions": [{"type": "Ready", "status": "False", "message": "store not ready"}]}
    applier = Applier(flux(wait.KUSTOMIZATION, applied=SHA), flux(wait.SOURCE), failed)
    out = run(applier)
    assert out["changed"] is True and out["nudged"] == 1 and out["missing"] == ["qa1/auth (store not ready)"]
    assert [(o["apiVersion"], o["kind"], o["metadata"]["annotations"]) for o in applier.applied] == [
        (external_secrets.API_VERSION, "ExternalSecret", {wait.FORCE_SYNC: "1764528000"})]


class SecretsManager:
    def __init__(self, code=None):
        self.code = code

    def get_secret_value(self, SecretId):
        if self.code:
            raise ClientError({"Error": {"Code": self.code, "Message": "no"}}, "GetSecretValue")
        return {"SecretString": "{}"}


def test_secrets_manager_reader_a_missing_secret_is_none_other_errors_raise():
    assert wait_runner.secrets_manager_reader(SecretsManager())("c1/qa1/auth") == "{}"
    assert wait_runner.secrets_manager_reader(SecretsManager("ResourceNotFoundException"))("c1/qa1/auth") is None
    with pytest.raises(AwsError, match="AccessDeniedException"):
        wait_runner.secrets_manager_reader(SecretsManager("AccessDeniedException"))("c1/qa1/auth")


def test_the_module_shell_connects_through_the_one_client_factory(tmp_path, monkeypatch, capsys):
    """main() is the argument spec and one call: an unreachable API server is the factory's one error."""
    import socket

    import yaml
    from ansible.module_utils import basic
    from ansible.module_utils.common.text.converters import to_bytes

    from ansible_collections.tidepool.eks.plugins.modules import flux_wait

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        server = f"https://127.0.0.1:{sock.getsockname()[1]}"
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "dead",
        "clusters": [{"name": "dead", "cluster": {"server": server}}], "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "dead", "context": {"cluster": "dead", "user": "u"}}]}))
    args = {"revision": SHA, "kubeconfig": str(kubeconfig)}
    monkeypatch.setattr(basic, "_ANSIBLE_ARGS", to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": args})))
    monkeypatch.setattr(basic, "_ANSIBLE_PROFILE", "legacy", raising=False)
    with pytest.raises(SystemExit):
        flux_wait.main()
    result = json.loads(capsys.readouterr().out)
    assert result["failed"] is True
    assert result["msg"].startswith(f"Kubernetes API server {server} (kubeconfig {kubeconfig}, context (current)) is "
                                    "unreachable"), result
