"""Unit tests of the secrets catalogue and the secrets filters."""
from __future__ import annotations

import base64
import re

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.tidepool.eks.plugins.filter import secrets as filters
from ansible_collections.tidepool.eks.plugins.module_utils.config.tidepool_chart import CHART_0_1, CHART_0_26
from ansible_collections.tidepool.eks.plugins.module_utils.secrets import catalogue as cat

RANDOM_RE = re.compile(r"^[A-Za-z0-9]{40}$")


def by_id(manifests):
    return {f"{m['metadata']['namespace']}/{m['metadata']['name']}": m["stringData"] for m in manifests}


def test_random_value_alphabet_and_length():
    values = {cat.random_value() for _ in range(200)}
    assert len(values) == 200 and all(RANDOM_RE.match(v) for v in values)


def test_catalogue_per_environment_and_cluster_level():
    got = by_id(cat.manifests(["qa1", "qa2"], {"datadog": {"enabled": True}, "sumologic": {"enabled": False}}))
    assert "qa1/shoreline" in got and "qa2/userdata" in got and "datadog/datadog" in got
    assert "sumologic/sumologic" not in got and "flux/slack" not in got
    assert set(got["qa1/shoreline"]) == {"ServiceAuth", "UserLongTermKey", "UserMailVerification"}
    assert all(RANDOM_RE.match(v) for v in got["qa1/userdata"].values())
    assert got["qa1/mongo"] == {"Scheme": "mongodb", "Addresses": "mongodb", "Username": "", "Password": "",
                                "Database": "admin", "Tls": "false", "OptParams": ""}
    assert got["qa1/mailchimp"]["ClinicLists"] == "[]"
    assert got["qa1/auth"]["ServiceAuth"] != got["qa2/auth"]["ServiceAuth"]


def test_exclude_only_and_rotation_validation():
    got = by_id(cat.manifests(["qa1"], exclude=["qa1/dexcom"]))
    assert "qa1/dexcom" not in got
    only = by_id(cat.manifests(["qa1"], only=["qa1/auth"]))
    assert list(only) == ["qa1/auth"]
    with pytest.raises(ValueError, match="qa1/mongo not a generated secret"):
        cat.manifests(["qa1"], only=["qa1/mongo"])
    assert "qa1/mongo" not in cat.rotatable(["qa1"]) and "qa1/export" in cat.rotatable(["qa1"])


def test_vendor_manifests_validation():
    assert by_id(cat.vendor_manifests({"flux/slack": {"url": "u"}})) == {"flux/slack": {"url": "u"}}
    with pytest.raises(ValueError, match="must be <namespace>/<name>"):
        cat.vendor_manifests({"slack": {"url": "u"}})
    with pytest.raises(AnsibleFilterError, match="mapping"):
        filters.secrets_vendor_manifests({"flux/slack": "not-a-dict"})


def test_git_manifests_are_base64_and_validated():
    out = filters.secrets_git_manifests(cat.vendor_manifests({"qa1/dexcom": {"ClientId": "id-1"}}), "t1")
    assert out == [{"path": "qa1/dexcom.yaml", "id": "qa1/dexcom", "manifest": {
        "apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": {"name": "dexcom", "namespace": "qa1"},
        "data": {"ClientId": base64.b64encode(b"id-1").decode()}}}]
    with pytest.raises(AnsibleFilterError) as info:
        filters.secrets_git_manifests(cat.vendor_manifests({"qa1/dexcom": {"bad key": "value-xyz-123"}}), "t1")
    assert "value-xyz-123" not in str(info.value)


def test_filter_helpers(tmp_path):
    src = tmp_path / "s.yaml"
    src.write_text("---\napiVersion: v1\nkind: Secret\nmetadata: {name: a, namespace: qa1}\nstringData: {k: v}\n---\n")
    docs = filters.secrets_load_files([str(src)])
    assert filters.secret_ids(docs) == ["qa1/a"]
    with pytest.raises(AnsibleFilterError, match="cannot read"):
        filters.secrets_load_files([str(tmp_path / "missing.yaml")])
    assert filters.secrets_repo_dir("t1", "aws") == "clusters/t1/flux/external-secrets"
    assert filters.secrets_repo_dir("t1", "git") == "clusters/t1/flux/secrets"
    assert "qa1/auth" in filters.secrets_rotatable({"qa1": {}}, tidepool_chart=CHART_0_1)
    # chart 0.26's contract: prescription is generated, the 0.1.7-only image secret is gone
    assert "qa1/prescription" in filters.secrets_rotatable({"qa1": {}}, tidepool_chart=CHART_0_26)
    assert "qa1/image" not in filters.secrets_rotatable({"qa1": {}}, tidepool_chart=CHART_0_26)
    with pytest.raises(AnsibleFilterError, match="tidepool_chart"):
        filters.secrets_rotatable({"qa1": {}})


def test_secrets_chart_0_26_no_longer_reads_are_retired_per_environment():
    envs = {"qa1": {}, "qa2": {"chart": {"git": "git@github.com:tidepool-org/development", "path": "charts/tidepool/0.1.7",
                                         "ref": "k8s", "version": "0.1.7"}}}
    got = filters.secrets_retired(envs, tidepool_chart=CHART_0_26, previous_chart=CHART_0_1)
    # qa2 stays on chart 0.1.7 (its chart override): it retires nothing
    assert got == ["qa1/carelink", "qa1/image", "qa1/mailchimp", "qa1/notification", "qa1/user"]
    assert filters.secrets_retired(["qa1"], tidepool_chart=CHART_0_1, previous_chart=CHART_0_1) == []
    with pytest.raises(AnsibleFilterError, match="secrets_retired: previous_chart"):
        filters.secrets_retired(["qa1"], tidepool_chart=CHART_0_26)
