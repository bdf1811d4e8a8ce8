"""external_secret module + lookup through ansible-playbook against the local stack's moto server."""
from __future__ import annotations

import base64
import json
from pathlib import Path

import boto3
import jsonschema
import pytest
import yaml

from tests.support.helpers import SHARED, recap, run_playbook

pytestmark = pytest.mark.integration

PLAYBOOK = Path(__file__).parent / "playbooks" / "external_secret.yml"
CRD = SHARED / "reference" / "crds" / "kubernetes-external-secrets" / "externalsecrets.yaml"
CLUSTER = "itest"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


SECRETS = [
    {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "auth", "namespace": "qa1"},
     "type": "Opaque", "data": {"ServiceAuth": b64("auth-value-0123456789")}},
    {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "mongo", "namespace": "qa1", "labels": {"app": "m"}},
     "data": {"Scheme": b64("mongodb"), "Password": b64("pw-value-0123456789")},
     "stringData": {"Tls": "false"}},
    {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "slack", "namespace": "flux"},
     "data": {"url": b64("https://hooks.example/abc")}},
]
EXPECTED = {
    f"{CLUSTER}/qa1/auth": {"ServiceAuth": "auth-value-0123456789"},
    f"{CLUSTER}/qa1/mongo": {"Scheme": "mongodb", "Password": "pw-value-0123456789", "Tls": "false"},
    f"{CLUSTER}/flux/slack": {"url": "https://hooks.example/abc"},
}


def crd_schema() -> dict:
    crd = yaml.safe_load(CRD.read_text())
    return crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


def sm():
    return boto3.client("secretsmanager")


def stored() -> dict:
    out = {}
    for page in sm().get_paginator("list_secrets").paginate(IncludePlannedDeletion=True):
        for entry in page["SecretList"]:
            if entry["Name"].startswith(f"{CLUSTER}/"):
                out[entry["Name"]] = json.loads(sm().get_secret_value(SecretId=entry["Name"])["SecretString"])
    return out


def play(tmp_path: Path, check=False, diff=False, **extra):
    result_file = tmp_path / "result.json"
    if result_file.exists():
        result_file.unlink()
    proc = run_playbook(PLAYBOOK, extra_vars={"es_cluster": CLUSTER, "es_result": str(result_file), **extra},
                        check=check, diff=diff)
    result = json.loads(result_file.read_text()) if result_file.exists() else None
    return proc, result


@pytest.fixture
def src(tmp_path) -> Path:
    path = tmp_path / "secrets.yaml"
    path.write_text(yaml.safe_dump_all(SECRETS))
    return path


def test_four_step_create_manifests_and_lookup(moto_reset, tmp_path, src):
    dest = tmp_path / "external-secrets"
    # 1. check mode: predicts the creation, writes nothing
    proc, res = play(tmp_path, check=True, diff=True, es_src=str(src), es_dest=str(dest))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert recap(proc.stdout)["localhost"]["changed"] == 1
    assert sorted(res["created"]) == sorted(EXPECTED) and stored() == {} and not dest.exists()
    # 2. real run
    proc, res = play(tmp_path, es_src=str(src), es_dest=str(dest))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert recap(proc.stdout)["localhost"]["changed"] == 1
    assert stored() == EXPECTED
    # 3. check mode again: nothing to do; 4. real run again: unchanged
    for check in (True, False):
        proc, res = play(tmp_path, check=check, es_src=str(src), es_dest=str(dest))
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert recap(proc.stdout)["localhost"]["changed"] == 0
        assert sorted(res["unchanged"]) == sorted(EXPECTED) and res["files"] == []

    # The manifests: files + returned, valid against the kubernetes-external-secrets CRD, no values.
    schema = crd_schema()
    files = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*.yaml"))
    assert files == ["flux/slack.yaml", "qa1/auth.yaml", "qa1/mongo.yaml"]
    for path in dest.rglob("*.yaml"):
        assert oct(path.stat().st_mode & 0o777) == "0o644"
        manifest = yaml.safe_load(path.read_text())
        jsonschema.validate(manifest, schema)
        assert manifest["apiVersion"] == "kubernetes-client.io/v1" and manifest["kind"] == "ExternalSecret"
        sid = f"{CLUSTER}/{manifest['metadata']['namespace']}/{manifest['metadata']['name']}"
        assert manifest["spec"]["backendType"] == "secretsManager"
        assert manifest["spec"]["data"] == [{"key": sid, "name": k, "property": k} for k in sorted(EXPECTED[sid])]
        for value in EXPECTED[sid].values():
            if len(value) > 8:
                assert value not in path.read_text()
    mongo = yaml.safe_load((dest / "qa1" / "mongo.yaml").read_text())
    assert mongo["metadata"]["labels"] == {"app": "m"}

    # Lookup round trip: valid Secret manifests with base64 data.
    lookup_file = tmp_path / "lookup.json"
    proc = run_playbook(PLAYBOOK, extra_vars={"es_cluster": CLUSTER, "es_src": str(src), "es_dest": str(dest),
                                              "es_lookup": ["qa1/mongo", "flux/slack"],
                                              "es_lookup_result": str(lookup_file)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    secrets = json.loads(lookup_file.read_text())
    assert [s["metadata"] for s in secrets] == [{"name": "mongo", "namespace": "qa1"},
                                                {"name": "slack", "namespace": "flux"}]
    assert all(s["apiVersion"] == "v1" and s["kind"] == "Secret" and s["type"] == "Opaque" for s in secrets)
    assert {k: base64.b64decode(v).decode() for k, v in secrets[0]["data"].items()} == EXPECTED[f"{CLUSTER}/qa1/mongo"]
    assert "pw-value-0123456789" not in proc.stdout


def test_semantic_compare_update_diff_and_no_values_in_output(moto_reset, tmp_path, src):
    # Stored by another tool: different key order and whitespace -> unchanged.
    sm().create_secret(Name=f"{CLUSTER}/qa1/auth", SecretString='{\n  "ServiceAuth" : "auth-value-0123456789"\n}')
    sm().create_secret(Name=f"{CLUSTER}/qa1/mongo",
                       SecretString=json.dumps({"Tls": "false", "Password": "old-pw-value-999", "Extra": "gone-value"}))
    proc, res = play(tmp_path, check=True, diff=True, es_src=str(src))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert res["unchanged"] == [f"{CLUSTER}/qa1/auth"]
    assert res["updated"] == [f"{CLUSTER}/qa1/mongo"] and res["created"] == [f"{CLUSTER}/flux/slack"]
    out = proc.stdout
    assert "-        Extra: <old value>" in out and "+        Scheme: <new value>" in out
    assert "-        Password: <old value>" in out and "+        Password: <new value>" in out
    for value in ("old-pw-value-999", "gone-value", "pw-value-0123456789", "auth-value-0123456789"):
        assert value not in out and value not in proc.stderr
    assert json.loads(sm().get_secret_value(SecretId=f"{CLUSTER}/qa1/mongo")["SecretString"])["Extra"] == "gone-value"
    proc, res = play(tmp_path, es_src=str(src))
    assert proc.returncode == 0 and stored() == EXPECTED


def test_create_only_restore_and_delete(moto_reset, tmp_path, src):
    sm().create_secret(Name=f"{CLUSTER}/qa1/auth", SecretString=json.dumps({"ServiceAuth": "keep-me"}))
    sm().delete_secret(SecretId=f"{CLUSTER}/qa1/auth", RecoveryWindowInDays=7)
    proc, res = play(tmp_path, es_src=str(src), es_overwrite=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert res["restored"] == [f"{CLUSTER}/qa1/auth"]
    assert stored()[f"{CLUSTER}/qa1/auth"] == {"ServiceAuth": "keep-me"}   # create-only: restored, not rewritten
    proc, res = play(tmp_path, es_src=str(src), es_overwrite=False)
    assert recap(proc.stdout)["localhost"]["changed"] == 0

    proc, res = play(tmp_path, es_src=str(src), es_state="absent", es_force_delete=True)
    assert proc.returncode == 0 and sorted(res["deleted"]) == sorted(EXPECTED)
    assert stored() == {}
    proc, res = play(tmp_path, es_src=str(src), es_state="absent", es_force_delete=True)
    assert recap(proc.stdout)["localhost"]["changed"] == 0


def test_create_only_adds_keys_the_catalogue_added(moto_reset, tmp_path):
    """overwrite=false: a key added to the manifest since the secret was created is added to the stored value
    (the stored values are kept), so the ExternalSecret never names a missing key."""
    sid = f"{CLUSTER}/qa1/auth"
    sm().create_secret(Name=sid, SecretString=json.dumps({"ServiceAuth": "keep-me-0123456789"}))
    dest = tmp_path / "es"
    wanted = [{"metadata": {"name": "auth", "namespace": "qa1"},
               "stringData": {"ServiceAuth": "regenerated-value-1", "NewKey": "generated-new-key-42"}}]
    proc, res = play(tmp_path, check=True, diff=True, es_secrets=wanted, es_encoding="plaintext", es_overwrite=False,
                     es_dest=str(dest))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert res["updated"] == [sid] and stored()[sid] == {"ServiceAuth": "keep-me-0123456789"}
    assert "+        NewKey: <new value>" in proc.stdout and "ServiceAuth: <" not in proc.stdout
    assert "generated-new-key-42" not in proc.stdout and not dest.exists()

    proc, res = play(tmp_path, es_secrets=wanted, es_encoding="plaintext", es_overwrite=False, es_dest=str(dest))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert stored()[sid] == {"ServiceAuth": "keep-me-0123456789", "NewKey": "generated-new-key-42"}
    manifest = yaml.safe_load((dest / "qa1" / "auth.yaml").read_text())
    assert {d["property"] for d in manifest["spec"]["data"]} <= set(stored()[sid])
    proc, res = play(tmp_path, es_secrets=wanted, es_encoding="plaintext", es_overwrite=False, es_dest=str(dest))
    assert recap(proc.stdout)["localhost"]["changed"] == 0


def test_failure_mid_batch_reports_progress_and_writes_only_stored_manifests(moto_reset, tmp_path):
    """The 2nd of 3 writes fails (a secret replicated here from another region: only its primary region may
    change it): the first is stored and its manifest written, the failure names the 2nd, the 3rd is not tried."""
    primary = boto3.client("secretsmanager", region_name="eu-west-1")
    replica_id = f"{CLUSTER}/qa1/b-replica"
    primary.create_secret(Name=replica_id, SecretString=json.dumps({"k": "old"}),
                          AddReplicaRegions=[{"Region": "us-east-1"}])
    try:
        dest = tmp_path / "es"
        wanted = [{"metadata": {"name": name, "namespace": "qa1"}, "stringData": {"k": "new-value-0123456789"}}
                  for name in ("a-first", "b-replica", "c-last")]
        proc, res = play(tmp_path, es_secrets=wanted, es_encoding="plaintext", es_dest=str(dest), es_may_fail=True)
        assert res["failed"] and res["created"] == [f"{CLUSTER}/qa1/a-first"]
        assert res["failed_secrets"] == [replica_id] and res["not_attempted"] == [f"{CLUSTER}/qa1/c-last"]
        assert f"secretsmanager.PutSecretValue on {replica_id} failed" in res["msg"]
        assert "Stopped at " + replica_id in res["msg"]
        assert sorted(p.name for p in (dest / "qa1").iterdir()) == ["a-first.yaml"]
        assert [m["metadata"]["name"] for m in res["manifests"]] == ["a-first"]
        assert sorted(stored()) == [f"{CLUSTER}/qa1/a-first", replica_id]
        assert "new-value-0123456789" not in proc.stdout + proc.stderr
    finally:
        primary.remove_regions_from_replication(SecretId=replica_id, RemoveReplicaRegions=["us-east-1"])
        primary.delete_secret(SecretId=replica_id, ForceDeleteWithoutRecovery=True)


def test_bad_input_fails_before_any_write(moto_reset, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump_all([SECRETS[0], {"kind": "Secret", "metadata": {"name": "x"},
                                                    "stringData": {"k": "value-secret-xyz"}}]))
    proc, _ = play(tmp_path, es_src=str(bad))
    assert proc.returncode != 0
    assert f"{bad} document 2 (x) has no metadata.namespace" in proc.stdout
    assert "value-secret-xyz" not in proc.stdout and stored() == {}


def test_lookup_missing_secret_is_a_clear_error(moto_reset, tmp_path, src):
    proc = run_playbook(PLAYBOOK, extra_vars={"es_cluster": CLUSTER, "es_secrets": [], "es_lookup": ["qa1/nope"],
                                              "es_lookup_result": str(tmp_path / "x.json")})
    assert proc.returncode != 0
    assert f"secret {CLUSTER}/qa1/nope does not exist in Secrets Manager" in proc.stdout + proc.stderr


def test_manifests_apply_to_the_api_server(moto_reset, tmp_path, src, kube_stack):
    dest = tmp_path / "es"
    proc, _ = play(tmp_path, es_src=str(src), es_dest=str(dest))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # Namespaces of its own (the manifests say qa1 and flux): nothing collides with what site.yml applies.
    suffix = tmp_path.name[-6:].lower().replace("_", "-")
    created = []
    try:
        for ns in ("qa1", "flux"):
            kube_stack.kubectl("create", "namespace", f"es-{ns}-{suffix}")
            created.append(f"es-{ns}-{suffix}")
        for path in sorted(dest.rglob("*.yaml")):
            ns = path.parent.name
            applied = kube_stack.kubectl("apply", "--server-side", "--field-manager=itest", "-n", f"es-{ns}-{suffix}",
                                         "-f", "-", check=False,
                                         input=path.read_text().replace(f"namespace: {ns}\n", f"namespace: es-{ns}-{suffix}\n"))
            assert applied.returncode == 0, applied.stderr
        got = kube_stack.kubectl("get", "externalsecrets.kubernetes-client.io", "-n", f"es-qa1-{suffix}", "-o", "json")
        names = sorted(i["metadata"]["name"] for i in json.loads(got.stdout)["items"])
        assert names == ["auth", "mongo"]
    finally:
        for ns in created:
            kube_stack.kubectl("delete", "namespace", ns, "--wait=false", check=False)
