"""Unit tests of the external_secret core (no Ansible, no network: a stub Secrets Manager client)."""
from __future__ import annotations

import base64
import json

import pytest
import yaml
from botocore.exceptions import ClientError

from ansible_collections.tidepool.eks.plugins.module_utils.secrets import external_secret as core
from ansible_collections.tidepool.eks.plugins.module_utils.aws.connection import AwsError
from ansible_collections.tidepool.eks.plugins.module_utils.gitops import registry

SECRET_VALUE = "s3cr3t-Value-that-must-never-leak"
V1, V2 = registry.flavour(1), registry.flavour(2)


def sync(client, cluster, docs, **kwargs):
    """``core.sync`` of the default flavour (the caller passes it, as the module shell does)."""
    return core.sync(client, cluster, docs, **dict({"flavour": registry.flavour(registry.DEFAULT_VERSION)}, **kwargs))


class StubSecretsManager:
    """Just enough of boto3's secretsmanager client, with a call log."""

    def __init__(self, secrets=None, deleted=(), tags=None):
        self.secrets = dict(secrets or {})          # id -> SecretString
        self.deleted = set(deleted)
        self.tags = {k: dict(v) for k, v in (tags or {}).items()}
        self.calls = []

    def _log(self, name, **kw):
        self.calls.append((name, kw))

    def list_secrets(self, Filters, IncludePlannedDeletion=False, MaxResults=100, NextToken=None):
        self._log("list_secrets", Filters=Filters)
        prefixes = Filters[0]["Values"]
        names = sorted(n for n in self.secrets if any(n.lower().startswith(p.lower()) for p in prefixes)
                       and (IncludePlannedDeletion or n not in self.deleted))
        start = int(NextToken or 0)
        page = names[start:start + MaxResults]
        out = {"SecretList": [dict(Name=n, ARN=f"arn:{n}", Tags=[{"Key": k, "Value": v} for k, v in
                                                                  self.tags.get(n, {}).items()],
                                   **({"DeletedDate": 1} if n in self.deleted else {})) for n in page]}
        if start + MaxResults < len(names):
            out["NextToken"] = str(start + MaxResults)
        return out

    def batch_get_secret_value(self, SecretIdList):
        assert len(SecretIdList) <= 20
        self._log("batch_get_secret_value", SecretIdList=SecretIdList)
        values, errors = [], []
        for sid in SecretIdList:
            if sid in self.secrets and sid not in self.deleted:
                values.append({"Name": sid, "SecretString": self.secrets[sid]})
            else:
                errors.append({"SecretId": sid, "ErrorCode": "ResourceNotFoundException", "Message": "nope"})
        return {"SecretValues": values, "Errors": errors}

    def get_secret_value(self, SecretId):
        self._log("get_secret_value", SecretId=SecretId)
        return {"Name": SecretId, "SecretString": self.secrets[SecretId]}

    def create_secret(self, Name, SecretString, **kw):
        self._log("create_secret", Name=Name, **kw)
        if Name in self.secrets:
            raise ClientError({"Error": {"Code": "ResourceExistsException", "Message": "exists"}}, "CreateSecret")
        self.secrets[Name] = SecretString
        self.tags[Name] = {t["Key"]: t["Value"] for t in kw.get("Tags", [])}

    def put_secret_value(self, SecretId, SecretString):
        self._log("put_secret_value", SecretId=SecretId)
        self.secrets[SecretId] = SecretString

    def restore_secret(self, SecretId):
        self._log("restore_secret", SecretId=SecretId)
        self.deleted.discard(SecretId)

    def tag_resource(self, SecretId, Tags):
        self._log("tag_resource", SecretId=SecretId)
        self.tags.setdefault(SecretId, {}).update({t["Key"]: t["Value"] for t in Tags})

    def delete_secret(self, SecretId, **kw):
        self._log("delete_secret", SecretId=SecretId, **kw)
        if kw.get("ForceDeleteWithoutRecovery"):
            self.secrets.pop(SecretId, None)
            self.deleted.discard(SecretId)
        else:
            self.deleted.add(SecretId)

    def writes(self):
        return [c for c in self.calls if c[0] not in ("list_secrets", "batch_get_secret_value", "get_secret_value")]


def secret(name, ns="qa1", **data):
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": ns},
            "stringData": data}


def docs_of(*manifests, encoding="plaintext", present=True):
    return core.parse_secrets(core.load_documents(list(manifests)), "test1", encoding, require_values=present)


# --- input validation -----------------------------------------------------------------------

def test_parse_encoded_and_stringdata_merge():
    doc = {"metadata": {"name": "auth", "namespace": "qa1"},
           "data": {"A": base64.b64encode(b"alpha").decode(), "B": base64.b64encode(b"beta").decode()},
           "stringData": {"B": "override"}}
    (parsed,) = docs_of(doc, encoding="encoded")
    assert parsed.secret_id == "test1/qa1/auth"
    assert parsed.values == {"A": "alpha", "B": "override"}


def test_parse_src_multi_document_skips_empty_and_metadata_less():
    text = "---\n---\nfoo: bar\n---\n" + yaml.safe_dump(secret("auth", ServiceAuth="x"))
    docs = core.load_documents(None, text, "f.yaml")
    assert [label for label, _ in docs] == ["f.yaml document 3"]


def test_parse_scalars_become_strings():
    (parsed,) = docs_of({"metadata": {"name": "mongo", "namespace": "qa1"},
                         "stringData": {"Tls": False, "Port": 27017, "Empty": None}})
    assert parsed.values == {"Tls": "false", "Port": "27017", "Empty": ""}


@pytest.mark.parametrize("doc, message", [
    ({"kind": "ConfigMap", "metadata": {"name": "a", "namespace": "b"}, "data": {}}, "is a ConfigMap"),
    ({"metadata": {"name": "a"}, "stringData": {"k": "v"}}, "no metadata.namespace"),
    ({"metadata": {"namespace": "b"}, "stringData": {"k": "v"}}, "no metadata.name"),
    ({"metadata": {"name": "a", "namespace": "b"}}, "neither data nor stringData"),
    ({"metadata": {"name": "a", "namespace": "b"}, "stringData": {"bad key": "v"}}, "'bad key' is not a valid"),
    ({"metadata": {"name": "A_b", "namespace": "b"}, "stringData": {"k": "v"}}, "not a valid Kubernetes name"),
    ({"metadata": {"name": "a", "namespace": "b"}, "stringData": {"k": ["x"]}}, "must have a string value"),
])
def test_parse_errors_name_the_document(doc, message):
    with pytest.raises(core.InputError, match=message) as info:
        docs_of(secret("ok", k="v"), doc)
    assert "secrets[1]" in str(info.value)


def test_bad_base64_error_names_key_not_value():
    doc = {"metadata": {"name": "a", "namespace": "b"}, "data": {"Key": SECRET_VALUE}}
    with pytest.raises(core.InputError) as info:
        docs_of(doc, encoding="encoded")
    assert "'Key'" in str(info.value) and SECRET_VALUE not in str(info.value)


def test_yaml_error_does_not_quote_the_file():
    with pytest.raises(core.InputError) as info:
        core.load_documents(None, f"a: [{SECRET_VALUE}\n", "x.yaml")
    assert SECRET_VALUE not in str(info.value) and "x.yaml" in str(info.value)


def test_duplicate_secret_rejected():
    with pytest.raises(core.InputError, match="repeats qa1/auth"):
        docs_of(secret("auth", a="1"), secret("auth", a="2"))


def test_bad_cluster_rejected():
    with pytest.raises(core.InputError, match="cluster"):
        core.parse_secrets([], "bad/cluster", "plaintext")


def test_bad_input_means_no_write():
    client = StubSecretsManager()
    with pytest.raises(core.InputError):
        docs = docs_of(secret("good", k="v"), {"metadata": {"name": "bad"}, "stringData": {"k": "v"}})
        sync(client, "test1", docs)
    assert client.calls == []


# --- manifests ------------------------------------------------------------------------------

def test_manifest_shape_and_no_values():
    doc = secret("mongo", Password=SECRET_VALUE, Addresses="mongodb")
    doc["metadata"]["labels"] = {"app": "mongo"}
    doc["metadata"]["annotations"] = {"kubectl.kubernetes.io/last-applied-configuration": SECRET_VALUE, "x": "y"}
    doc["metadata"]["resourceVersion"] = "12"
    (parsed,) = docs_of(doc)
    manifest = core.external_secret_manifest(parsed, V1, region="us-west-2")
    assert manifest == {
        "apiVersion": "kubernetes-client.io/v1", "kind": "ExternalSecret",
        "metadata": {"name": "mongo", "namespace": "qa1", "labels": {"app": "mongo"}, "annotations": {"x": "y"}},
        "spec": {"backendType": "secretsManager", "region": "us-west-2", "data": [
            {"key": "test1/qa1/mongo", "name": "Addresses", "property": "Addresses"},
            {"key": "test1/qa1/mongo", "name": "Password", "property": "Password"}]},
    }
    legacy = core.external_secret_manifest(parsed, V1, manifest_format="secretDescriptor")
    assert legacy["secretDescriptor"]["backendType"] == "secretsManager" and "spec" not in legacy
    assert SECRET_VALUE not in json.dumps(manifest)


def test_manifest_of_flavour_2_reads_through_the_namespace_store():
    (parsed,) = docs_of(secret("mongo", Password=SECRET_VALUE, Addresses="mongodb"))
    manifest = core.external_secret_manifest(parsed, V2, region="us-west-2")
    assert manifest["apiVersion"] == "external-secrets.io/v1" and manifest["kind"] == "ExternalSecret"
    assert manifest["metadata"]["namespace"] == "qa1"
    remote = {(d["secretKey"], d["remoteRef"]["key"], d["remoteRef"]["property"]) for d in manifest["spec"]["data"]}
    assert remote == {("Addresses", "test1/qa1/mongo", "Addresses"), ("Password", "test1/qa1/mongo", "Password")}
    assert SECRET_VALUE not in json.dumps(manifest)
    with pytest.raises(Exception, match="role_arn has no flux_version 2 equivalent"):
        core.external_secret_manifest(parsed, V2, role_arn="arn:aws:iam::123456789012:role/x")


# --- plan / apply ---------------------------------------------------------------------------

def test_create_then_noop():
    client = StubSecretsManager()
    docs = docs_of(secret("auth", ServiceAuth="a"), secret("user", ServiceAuth="b"))
    result = sync(client, "test1", docs, tags={"cluster": "test1"})
    assert result["created"] == ["test1/qa1/auth", "test1/qa1/user"] and result["changed"]
    assert json.loads(client.secrets["test1/qa1/auth"]) == {"ServiceAuth": "a"}
    assert client.tags["test1/qa1/auth"] == {"cluster": "test1"}
    client.calls.clear()
    again = sync(client, "test1", docs, tags={"cluster": "test1"})
    assert not again["changed"] and again["unchanged"] == ["test1/qa1/auth", "test1/qa1/user"]
    assert client.writes() == []
    assert [c[0] for c in client.calls] == ["list_secrets", "batch_get_secret_value"]


def test_semantic_json_compare_ignores_order_and_whitespace():
    client = StubSecretsManager({"test1/qa1/auth": '{ "b" : "2",\n  "a":"1" }'})
    result = sync(client, "test1", docs_of(secret("auth", a="1", b="2")))
    assert not result["changed"] and client.writes() == []


def test_update_only_what_differs_and_diff_redacts():
    client = StubSecretsManager({"test1/qa1/auth": json.dumps({"a": "1", "gone": SECRET_VALUE, "c": "old"}),
                                 "test1/qa1/same": json.dumps({"a": "1"})})
    docs = docs_of(secret("auth", a="1", c=SECRET_VALUE + "new", added="x"), secret("same", a="1"))
    result = sync(client, "test1", docs, check_mode=True)
    assert result["updated"] == ["test1/qa1/auth"] and result["unchanged"] == ["test1/qa1/same"]
    assert client.writes() == []  # check mode
    (diff,) = result["diff"]
    assert diff["before"]["keys"] == {"a": core.REDACTED, "c": core.OLD_VALUE, "gone": core.OLD_VALUE}
    assert diff["after"]["keys"] == {"a": core.REDACTED, "c": core.NEW_VALUE, "added": core.NEW_VALUE}
    assert SECRET_VALUE not in json.dumps(result)
    sync(client, "test1", docs)
    assert [c[0] for c in client.writes()] == ["put_secret_value"]
    assert json.loads(client.secrets["test1/qa1/auth"]) == {"a": "1", "c": SECRET_VALUE + "new", "added": "x"}


def test_non_json_value_is_replaced():
    client = StubSecretsManager({"test1/qa1/auth": "plain text"})
    result = sync(client, "test1", docs_of(secret("auth", a="1")))
    assert result["updated"] == ["test1/qa1/auth"]


def test_create_only_keeps_existing_values():
    client = StubSecretsManager({"test1/qa1/auth": json.dumps({"a": "old"})})
    docs = docs_of(secret("auth", a="new"), secret("user", a="new"))
    result = sync(client, "test1", docs, overwrite=False, tags={"t": "1"})
    assert result["unchanged"] == ["test1/qa1/auth"] and result["created"] == ["test1/qa1/user"]
    assert json.loads(client.secrets["test1/qa1/auth"]) == {"a": "old"}
    assert [c[0] for c in client.writes()] == ["create_secret"]


def test_create_only_adds_the_keys_the_catalogue_added_and_keeps_the_others():
    client = StubSecretsManager({"test1/qa1/auth": json.dumps({"a": "old", "extra": "kept"})})
    docs = docs_of(secret("auth", a="regenerated", b=SECRET_VALUE, c="new-c"))
    check = sync(client, "test1", docs, overwrite=False, check_mode=True)
    assert check["updated"] == ["test1/qa1/auth"] and check["changed"] and client.writes() == []
    (diff,) = check["diff"]
    assert diff["before"] == {"state": "present", "keys": {}}
    assert diff["after"] == {"state": "present", "keys": {"b": core.NEW_VALUE, "c": core.NEW_VALUE}}
    assert SECRET_VALUE not in json.dumps(check)

    result = sync(client, "test1", docs, overwrite=False)
    assert result["updated"] == ["test1/qa1/auth"]
    assert json.loads(client.secrets["test1/qa1/auth"]) == {"a": "old", "extra": "kept", "b": SECRET_VALUE,
                                                            "c": "new-c"}
    again = sync(client, "test1", docs_of(secret("auth", a="x", b="y", c="z")), overwrite=False)
    assert not again["changed"] and json.loads(client.secrets["test1/qa1/auth"])["b"] == SECRET_VALUE


def test_create_only_leaves_a_non_json_value_alone_with_a_warning():
    client = StubSecretsManager({"test1/qa1/auth": "plain text"})
    result = sync(client, "test1", docs_of(secret("auth", a="1")), overwrite=False)
    assert not result["changed"] and client.secrets["test1/qa1/auth"] == "plain text"
    assert "test1/qa1/auth holds a value that is not a JSON object" in result["warnings"][0]


def test_deleted_secret_is_restored():
    client = StubSecretsManager({"test1/qa1/auth": json.dumps({"a": "old"})}, deleted={"test1/qa1/auth"})
    result = sync(client, "test1", docs_of(secret("auth", a="new")), overwrite=False)
    assert result["restored"] == ["test1/qa1/auth"] and result["changed"]
    assert json.loads(client.secrets["test1/qa1/auth"]) == {"a": "old"}
    assert "test1/qa1/auth" not in client.deleted
    assert [c[0] for c in client.writes()] == ["restore_secret"]

    client = StubSecretsManager({"test1/qa1/auth": json.dumps({"a": "old"})}, deleted={"test1/qa1/auth"})
    result = sync(client, "test1", docs_of(secret("auth", a="new")))
    assert result["updated"] == ["test1/qa1/auth"] and result["restored"] == ["test1/qa1/auth"]
    assert [c[0] for c in client.writes()] == ["restore_secret", "put_secret_value"]


def test_create_only_restore_adds_missing_keys_after_reading_the_restored_value():
    client = StubSecretsManager({"test1/qa1/auth": json.dumps({"a": "old"})}, deleted={"test1/qa1/auth"})
    result = sync(client, "test1", docs_of(secret("auth", a="new", b="added")), overwrite=False)
    assert result["restored"] == ["test1/qa1/auth"]
    assert json.loads(client.secrets["test1/qa1/auth"]) == {"a": "old", "b": "added"}
    assert [c[0] for c in client.writes()] == ["restore_secret", "put_secret_value"]


def test_absent_deletes_with_window_and_force():
    client = StubSecretsManager({"test1/qa1/auth": "{}", "test1/qa1/user": "{}"})
    docs = docs_of({"metadata": {"name": "auth", "namespace": "qa1"}},
                   {"metadata": {"name": "nope", "namespace": "qa1"}}, present=False)
    result = sync(client, "test1", docs, state="absent", recovery_window=7)
    assert result["deleted"] == ["test1/qa1/auth"] and result["unchanged"] == ["test1/qa1/nope"]
    assert client.writes()[0][1]["RecoveryWindowInDays"] == 7
    again = sync(client, "test1", docs, state="absent")
    assert not again["changed"]
    forced = sync(client, "test1", docs, state="absent", force_delete=True)
    assert forced["deleted"] == ["test1/qa1/auth"] and "test1/qa1/auth" not in client.secrets
    with pytest.raises(core.InputError, match="recovery_window"):
        sync(client, "test1", docs, state="absent", recovery_window=3)


def test_many_secrets_are_batched():
    client = StubSecretsManager({f"test1/ns{i % 12}/s{i}": "{}" for i in range(250)})
    docs = docs_of(*[secret(f"s{i}", ns=f"ns{i % 12}", k="v") for i in range(250)])
    sync(client, "test1", docs, check_mode=True)
    kinds = [c[0] for c in client.calls]
    assert kinds.count("batch_get_secret_value") == 13          # ceil(250 / 20)
    assert kinds.count("list_secrets") == 3 + 1                 # ns0-ns9: 209 names, 3 pages; ns10-11: 1


def test_batch_error_other_than_missing_is_reported_without_value():
    class Failing(StubSecretsManager):
        def batch_get_secret_value(self, SecretIdList):
            return {"SecretValues": [], "Errors": [{"SecretId": SecretIdList[0], "ErrorCode": "AccessDeniedException",
                                                    "Message": "denied."}]}
    client = Failing({"test1/qa1/auth": "{}"})
    with pytest.raises(AwsError, match="test1/qa1/auth failed: AccessDeniedException: denied"):
        sync(client, "test1", docs_of(secret("auth", a=SECRET_VALUE)))


def test_client_error_becomes_one_sentence():
    class Failing(StubSecretsManager):
        def create_secret(self, Name, SecretString, **kw):
            raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "not allowed"}}, "CreateSecret")
    with pytest.raises(AwsError) as info:
        sync(Failing(), "test1", docs_of(secret("auth", a=SECRET_VALUE)))
    assert "create_secret on test1/qa1/auth failed: AccessDeniedException: not allowed" in str(info.value)
    assert SECRET_VALUE not in str(info.value)


# --- files ----------------------------------------------------------------------------------

def test_manifest_files_written_once_and_removed(tmp_path):
    client = StubSecretsManager()
    docs = docs_of(secret("auth", a="1"))
    check = sync(client, "test1", docs, dest=str(tmp_path), check_mode=True)
    assert check["files"] == [str(tmp_path / "qa1" / "auth.yaml")] and not (tmp_path / "qa1").exists()
    sync(client, "test1", docs, dest=str(tmp_path))
    path = tmp_path / "qa1" / "auth.yaml"
    assert yaml.safe_load(path.read_text())["kind"] == "ExternalSecret"
    assert oct(path.stat().st_mode & 0o777) == "0o644"
    assert sync(client, "test1", docs, dest=str(tmp_path))["changed"] is False
    gone = sync(client, "test1", docs_of({"metadata": {"name": "auth", "namespace": "qa1"}}, present=False),
                     state="absent", dest=str(tmp_path))
    assert gone["files"] == [str(path)] and not path.exists()


# --- partial failures -------------------------------------------------------------------------

class FailingOn(StubSecretsManager):
    """Fails CreateSecret / PutSecretValue for one id with ``code``."""

    def __init__(self, fail_id, code="LimitExceededException", **kw):
        super().__init__(**kw)
        self.fail_id, self.code = fail_id, code

    def _maybe_fail(self, sid, op):
        if sid == self.fail_id:
            raise ClientError({"Error": {"Code": self.code, "Message": "refused."}}, op)

    def create_secret(self, Name, SecretString, **kw):
        self._maybe_fail(Name, "CreateSecret")
        return super().create_secret(Name, SecretString, **kw)

    def put_secret_value(self, SecretId, SecretString):
        self._maybe_fail(SecretId, "PutSecretValue")
        return super().put_secret_value(SecretId, SecretString)


def test_failure_mid_batch_reports_what_was_stored_and_writes_only_their_manifests(tmp_path):
    client = FailingOn("test1/qa1/s3", secrets={"test1/qa1/s5": json.dumps({"k": "v"})})
    docs = docs_of(*[secret(f"s{i}", k=SECRET_VALUE) for i in range(1, 5)], secret("s5", k="v"))
    with pytest.raises(core.PartialFailure) as info:
        sync(client, "test1", docs, dest=str(tmp_path))
    exc, result = info.value, info.value.result
    assert result["created"] == ["test1/qa1/s1", "test1/qa1/s2"]
    assert result["failed_secrets"] == ["test1/qa1/s3"] and result["not_attempted"] == ["test1/qa1/s4"]
    assert result["unchanged"] == ["test1/qa1/s5"] and result["changed"]
    assert [m["metadata"]["name"] for m in result["manifests"]] == ["s1", "s2", "s5"]
    assert sorted(p.name for p in (tmp_path / "qa1").iterdir()) == ["s1.yaml", "s2.yaml", "s5.yaml"]
    assert result["files"] == [str(tmp_path / "qa1" / f"s{i}.yaml") for i in (1, 2, 5)]
    assert "create_secret on test1/qa1/s3 failed: LimitExceededException: refused" in str(exc)
    assert "Stopped at test1/qa1/s3" in str(exc) and "test1/qa1/s4" in str(exc)
    assert SECRET_VALUE not in str(exc) + json.dumps(result)
    assert sorted(client.secrets) == ["test1/qa1/s1", "test1/qa1/s2", "test1/qa1/s5"]


def test_a_rerun_after_the_cause_is_fixed_completes_the_batch(tmp_path):
    client = FailingOn("test1/qa1/s2")
    docs = docs_of(*[secret(f"s{i}", k="v") for i in range(1, 4)])
    with pytest.raises(core.PartialFailure):
        sync(client, "test1", docs, dest=str(tmp_path))
    client.fail_id = None
    result = sync(client, "test1", docs, dest=str(tmp_path))
    assert result["created"] == ["test1/qa1/s2", "test1/qa1/s3"] and result["unchanged"] == ["test1/qa1/s1"]
    assert sorted(p.name for p in (tmp_path / "qa1").iterdir()) == ["s1.yaml", "s2.yaml", "s3.yaml"]


def test_partial_failure_with_botocore_stubber(tmp_path):
    """A real boto3 client answered by botocore's Stubber: the 2nd of 3 PutSecretValue calls fails."""
    import boto3
    from botocore.stub import ANY, Stubber
    client = boto3.client("secretsmanager", region_name="us-east-1", aws_access_key_id="x",
                          aws_secret_access_key="y")
    ids = [f"test1/qa1/s{i}" for i in (1, 2, 3)]
    stub = Stubber(client)
    stub.add_response("list_secrets", {"SecretList": [{"Name": sid, "ARN": f"arn:aws:secretsmanager:us-east-1:1:secret:{sid}"} for sid in ids]})
    stub.add_response("batch_get_secret_value",
                      {"SecretValues": [{"Name": sid, "SecretString": '{"k": "old"}'} for sid in ids]})
    stub.add_response("put_secret_value", {"Name": ids[0]}, {"SecretId": ids[0], "SecretString": ANY})
    stub.add_client_error("put_secret_value", "InternalServiceError", "boom", 500,
                          expected_params={"SecretId": ids[1], "SecretString": ANY})
    with stub, pytest.raises(core.PartialFailure) as info:
        sync(client, "test1", docs_of(*[secret(f"s{i}", k="new") for i in (1, 2, 3)]), dest=str(tmp_path))
    stub.assert_no_pending_responses()
    result = info.value.result
    assert (result["updated"], result["failed_secrets"], result["not_attempted"]) == ([ids[0]], [ids[1]], [ids[2]])
    assert "secretsmanager.PutSecretValue on test1/qa1/s2 failed: InternalServiceError: boom" in str(info.value)
    assert [p.name for p in (tmp_path / "qa1").iterdir()] == ["s1.yaml"]


def test_manifest_files_never_go_through_a_link_committed_into_the_clone(tmp_path):
    """dest inside a clone where `flux` is a committed link: refused before anything is stored or written."""
    import os

    from ansible_collections.tidepool.eks.plugins.module_utils.repository.safe_path import UnsafePathError
    outside = tmp_path / "somewhere"
    outside.mkdir()
    clone = tmp_path / "clone"
    (clone / ".git").mkdir(parents=True)
    (clone / "clusters/test1").mkdir(parents=True)
    os.symlink(outside, clone / "clusters/test1/flux")
    client = StubSecretsManager()
    with pytest.raises(UnsafePathError, match="clusters/test1/flux in .* is a symbolic link"):
        sync(client, "test1", docs_of(secret("auth", a="1")), dest=str(clone / "clusters/test1/flux/external-secrets"))
    assert os.listdir(outside) == [] and client.secrets == {}
    # a link to a namespace directory below dest (no work tree around it) is refused too
    dest = tmp_path / "manifests"
    dest.mkdir()
    os.symlink(outside, dest / "qa1")
    with pytest.raises(UnsafePathError, match="qa1 in .* is a symbolic link"):
        sync(client, "test1", docs_of(secret("auth", a="1")), dest=str(dest))
    assert os.listdir(outside) == [] and client.secrets == {}
