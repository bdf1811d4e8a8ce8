"""Unit tests of ``external_secret`` with ``purge: true`` (teardown's purge_secrets), against a stub client."""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from ansible_collections.tidepool.eks.plugins.module_utils.secrets import external_secret as core
from ansible_collections.tidepool.eks.plugins.module_utils.secrets.purge import purge

from tests.unit.plugins.module_utils.secrets.test_external_secret import StubSecretsManager


def stub(**kw):
    return StubSecretsManager({"test1/qa1/auth": "{}", "test1/flux/ca.pem": "pem", "test1/x": "{}",
                               "test10/qa1/auth": "{}", "other/qa1/auth": "{}", "TEST1/qa1/auth": "{}"}, **kw)


def test_check_mode_lists_and_deletes_nothing_then_deletes_only_this_clusters_secrets():
    client = stub(deleted={"test1/x"})
    check = purge(client, "test1", check_mode=True, recovery_window=7)
    assert check["deleted"] == ["test1/flux/ca.pem", "test1/qa1/auth"] and check["changed"]
    assert check["unchanged"] == ["test1/x"]  # already scheduled for deletion
    assert client.writes() == []
    done = purge(client, "test1", recovery_window=7)
    assert done["deleted"] == check["deleted"]
    assert [(c[0], c[1]["SecretId"], c[1]["RecoveryWindowInDays"]) for c in client.writes()] == [
        ("delete_secret", "test1/flux/ca.pem", 7), ("delete_secret", "test1/qa1/auth", 7)]
    assert client.deleted == {"test1/x", "test1/flux/ca.pem", "test1/qa1/auth"}
    again = purge(client, "test1", recovery_window=7)
    assert not again["changed"] and again["deleted"] == []


def test_a_failed_delete_reports_what_was_deleted_before_it():
    class Failing(StubSecretsManager):
        def delete_secret(self, SecretId, **kw):
            if SecretId == "test1/qa1/auth":
                raise ClientError({"Error": {"Code": "InvalidParameterException",
                                             "Message": "Operation not permitted on a replica secret."}}, "DeleteSecret")
            return super().delete_secret(SecretId, **kw)
    client = Failing({"test1/a/one": "{}", "test1/qa1/auth": "{}", "test1/z/last": "{}"})
    with pytest.raises(core.PartialFailure) as info:
        purge(client, "test1", recovery_window=7)
    result = info.value.result
    assert (result["deleted"], result["failed_secrets"], result["not_attempted"]) == (
        ["test1/a/one"], ["test1/qa1/auth"], ["test1/z/last"])
    assert "delete_secret on test1/qa1/auth failed: InvalidParameterException" in str(info.value)
    assert "Stopped at test1/qa1/auth: 1 secret(s) changed before it (test1/a/one)" in str(info.value)


def test_bad_recovery_window_is_refused_before_any_call():
    client = stub()
    with pytest.raises(core.InputError, match="recovery_window"):
        purge(client, "test1", recovery_window=3)
    assert client.calls == []


def test_namespaces_delete_only_those_namespaces_of_this_cluster():
    client = StubSecretsManager({"test1/qa2/auth": "{}", "test1/qa2/blob": "{}", "test1/qa20/auth": "{}",
                                 "test1/qa1/auth": "{}", "test1/flux/ca.pem": "pem", "other/qa2/auth": "{}"})
    check = purge(client, "test1", namespaces=["qa2"], check_mode=True, recovery_window=7)
    assert check["deleted"] == ["test1/qa2/auth", "test1/qa2/blob"] and check["changed"]
    assert [d["after_header"] for d in check["diff"]] == ["secretsmanager:test1/qa2/auth (deleted)",
                                                          "secretsmanager:test1/qa2/blob (deleted)"]
    assert client.writes() == []
    done = purge(client, "test1", namespaces=["qa2"], recovery_window=7)
    assert done["deleted"] == check["deleted"]
    assert client.deleted == {"test1/qa2/auth", "test1/qa2/blob"}   # qa20, qa1, the Tiller CA, other/ untouched
    assert not purge(client, "test1", namespaces=["qa2"], recovery_window=7)["changed"]


def test_no_namespace_named_lists_and_deletes_nothing():
    client = stub()
    result = purge(client, "test1", namespaces=[], recovery_window=7)
    assert result["deleted"] == [] and not result["changed"] and result["diff"] == []
    assert client.calls == []


@pytest.mark.parametrize("bad", ["QA2", "qa2/", "", "a" * 64, 7])
def test_a_namespace_that_is_not_a_dns_label_is_refused_before_any_call(bad):
    client = stub()
    with pytest.raises(core.InputError, match="namespaces: .* not a namespace name"):
        purge(client, "test1", namespaces=["qa1", bad], recovery_window=7)
    assert client.calls == []
