"""Unit tests of the Tiller TLS plan and apply (plugins/module_utils/crypto/helm_tls.py): no Ansible, no network.

The CA stores, the PKI primitives and the file helpers have their own test files."""
from __future__ import annotations

import datetime
import os
import stat

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from ansible_collections.tidepool.eks.plugins.module_utils.crypto import pki
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v1 import ca_store
from ansible_collections.tidepool.eks.plugins.module_utils.crypto import helm_tls as ht

KEY_SIZE = 2048  # RSA 4096 is the default; 2048 keeps the tests fast


def params(tmp_path, **over):
    p = {"cluster": "test1", "helm_home": str(tmp_path / "helm"), "key_size": KEY_SIZE, "issue": ["client"]}
    p.update(over)
    return ht.normalize_params(p)


def run(p, store, check=False, now=None):
    plan = ht.build_plan(p, store, now=now)
    if check:
        return plan, plan.result()
    return plan, ht.apply_plan(plan, now=now)


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def read_cert(path):
    return x509.load_pem_x509_certificate(open(path, "rb").read())


# --- parameters ---------------------------------------------------------------------------

def test_defaults(tmp_path, monkeypatch):
    monkeypatch.setenv("HELM_HOME", str(tmp_path / "hh"))
    p = ht.normalize_params({"cluster": "c1"})
    assert p["helm_home"] == str(tmp_path / "hh")
    assert p["key_size"] == 4096 and p["tiller_namespace"] == "flux" and p["issue"] == ["client"]
    assert p["validity_days"] == 1825 and p["renew_before_days"] == 30 and p["create_ca"] is True


@pytest.mark.parametrize("over, msg", [
    ({"cluster": "1bad"}, "cluster"),
    ({"issue": ["server"]}, "server_dest"),
    ({"issue": ["bogus"]}, "issue"),
    ({"ca_source": "files"}, "ca_path"),
    ({"key_size": 1024}, "key_size"),
    ({"tiller_namespace": "Flux"}, "tiller_namespace"),
    ({"renew_before_days": -1}, "renew_before_days"),
])
def test_bad_params(tmp_path, over, msg):
    with pytest.raises(pki.HelmTLSError, match=msg):
        params(tmp_path, **over)


def test_ca_path_must_not_be_helm_dir(tmp_path):
    with pytest.raises(pki.HelmTLSError, match="ca_path"):
        params(tmp_path, ca_source="files", ca_path=str(tmp_path / "helm" / "clusters" / "test1"))


# --- first run, second run, check mode -----------------------------------------------------

def test_create_ca_and_client_cert_in_secretsmanager(tmp_path, secretsmanager):
    sm = secretsmanager
    p = params(tmp_path, issue=["client", "server"], server_dest=str(tmp_path / "tiller"))
    store = ca_store.SecretsManagerCAStore(sm, "test1")
    plan, res = run(p, store)
    assert res["changed"] and res["ca"]["created"]
    assert set(sm.secrets) == {"test1/flux/ca.pem", "test1/flux/ca-key.pem"}
    assert sm.secrets["test1/flux/ca.pem"].startswith("-----BEGIN CERTIFICATE-----")
    assert "PRIVATE KEY" in sm.secrets["test1/flux/ca-key.pem"]
    ca = x509.load_pem_x509_certificate(sm.secrets["test1/flux/ca.pem"].encode())
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True

    cdir = tmp_path / "helm" / "clusters" / "test1"
    for d in (cdir, tmp_path / "helm", tmp_path / "tiller"):
        assert mode(d / "key.pem") == 0o600
        assert mode(d / "cert.pem") == 0o600
        assert mode(d / "ca.pem") == 0o600
        assert (d / "ca.pem").read_bytes() == sm.secrets["test1/flux/ca.pem"].encode()
    # the CA key is never written next to the Helm files
    assert not list(tmp_path.rglob("ca-key.pem"))
    assert (tmp_path / "helm" / "cert.pem").read_bytes() == (cdir / "cert.pem").read_bytes()
    assert (tmp_path / "helm" / "key.pem").read_bytes() == (cdir / "key.pem").read_bytes()

    client = read_cert(cdir / "cert.pem")
    client.verify_directly_issued_by(ca)
    assert client.subject.rfc4514_string() == "CN=helm-client"
    assert pki.sans_of(client) == ["DNS:tiller-deploy.flux"]
    eku = client.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.CLIENT_AUTH in eku and ExtendedKeyUsageOID.SERVER_AUTH in eku
    ku = client.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.digital_signature and ku.key_encipherment
    server = read_cert(tmp_path / "tiller" / "cert.pem")
    server.verify_directly_issued_by(ca)
    assert pki.common_name(server) == "tiller-deploy.flux"
    assert pki.sans_of(server) == ["DNS:tiller-deploy.flux"]
    assert res["certificates"]["client"]["subject"] == "CN=helm-client"
    assert res["certificates"]["server"]["sans"] == ["DNS:tiller-deploy.flux"]

    # second run: nothing to do, no secret written
    sm.calls.clear()
    plan, res2 = run(p, store)
    assert not res2["changed"], res2
    assert not [c for c in sm.calls if c[0] != "get"]
    assert res2["certificates"]["client"]["serial"] == res["certificates"]["client"]["serial"]


def test_check_mode_writes_nothing(tmp_path, secretsmanager):
    sm = secretsmanager
    p = params(tmp_path)
    plan, res = run(p, ca_store.SecretsManagerCAStore(sm, "test1"), check=True)
    assert res["changed"]
    assert sm.secrets == {} and not (tmp_path / "helm").exists()
    d = plan.diff()
    assert d["before"]["ca"] is None and d["after"]["ca"]["state"] == "to be created"
    assert d["after"]["certificates"]["client"]["subject"] == "CN=helm-client"
    assert "PRIVATE" not in repr(d) and "PRIVATE" not in repr(res)


def test_result_and_diff_have_no_key_material(tmp_path, secretsmanager):
    sm = secretsmanager
    p = params(tmp_path)
    plan, res = run(p, ca_store.SecretsManagerCAStore(sm, "test1"))
    text = repr(res) + repr(plan.diff())
    assert "PRIVATE" not in text and "BEGIN" not in text
    key_body = (tmp_path / "helm" / "key.pem").read_text().splitlines()[1]
    assert key_body not in text


def test_no_ca_and_create_ca_false(tmp_path, secretsmanager):
    with pytest.raises(pki.HelmTLSError, match="create_ca"):
        ht.build_plan(params(tmp_path, create_ca=False), ca_store.SecretsManagerCAStore(secretsmanager, "test1"))


def test_existing_ca_is_reused_never_overwritten(tmp_path, secretsmanager):
    sm = secretsmanager
    ca, key = pki.make_ca("test1", KEY_SIZE, 100)
    sm.secrets["test1/flux/ca.pem"] = pki.cert_pem(ca).decode()
    sm.secrets["test1/flux/ca-key.pem"] = pki.key_pem(key).decode()
    plan, res = run(params(tmp_path), ca_store.SecretsManagerCAStore(sm, "test1"))
    assert res["changed"] and not res["ca"]["created"]
    assert not [c for c in sm.calls if c[0] != "get"]
    read_cert(tmp_path / "helm" / "clusters" / "test1" / "cert.pem").verify_directly_issued_by(ca)
    # leaf validity is capped by the CA
    assert read_cert(tmp_path / "helm" / "cert.pem").not_valid_after_utc <= ca.not_valid_after_utc
    # and a cert capped by the CA is not re-issued on every run
    plan, res = run(params(tmp_path, renew_before_days=365), ca_store.SecretsManagerCAStore(sm, "test1"))
    assert not res["changed"], res
    assert plan.warnings and "expires" in plan.warnings[0]


def test_expired_ca_is_an_error(tmp_path, secretsmanager):
    sm = secretsmanager
    past = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=400)
    ca, key = pki.make_ca("test1", KEY_SIZE, 10, now=past)
    sm.secrets["test1/flux/ca.pem"] = pki.cert_pem(ca).decode()
    sm.secrets["test1/flux/ca-key.pem"] = pki.key_pem(key).decode()
    with pytest.raises(pki.HelmTLSError, match="expired"):
        ht.build_plan(params(tmp_path), ca_store.SecretsManagerCAStore(sm, "test1"))


def test_mismatched_ca_pair_is_an_error(tmp_path, secretsmanager):
    sm = secretsmanager
    ca, _ = pki.make_ca("test1", KEY_SIZE, 100)
    _, other = pki.make_ca("test1", KEY_SIZE, 100)
    sm.secrets["test1/flux/ca.pem"] = pki.cert_pem(ca).decode()
    sm.secrets["test1/flux/ca-key.pem"] = pki.key_pem(other).decode()
    with pytest.raises(pki.HelmTLSError, match="does not belong"):
        ht.build_plan(params(tmp_path), ca_store.SecretsManagerCAStore(sm, "test1"))


# --- re-issue -----------------------------------------------------------------------------

def _files_store(tmp_path):
    return ca_store.FileCAStore(str(tmp_path / "pki"))


def test_files_ca_source(tmp_path):
    p = params(tmp_path, ca_source="files", ca_path=str(tmp_path / "pki"))
    store = ca_store.FileCAStore(p["ca_path"])
    _, res = run(p, store)
    assert res["ca"]["created"] and res["ca"]["source"] == "files"
    assert mode(tmp_path / "pki" / "ca-key.pem") == 0o600
    assert mode(tmp_path / "pki" / "ca.pem") == 0o600
    _, res = run(p, store)
    assert not res["changed"]


def test_reissue_when_expiring(tmp_path):
    p = params(tmp_path, ca_source="files", ca_path=str(tmp_path / "pki"))
    store = _files_store(tmp_path)
    _, first = run(p, store)
    p2 = params(tmp_path, ca_source="files", ca_path=str(tmp_path / "pki"), validity_days=10, renew_before_days=20)
    plan, res = run(p2, store, check=True)
    assert res["changed"] is False  # 5-year cert, 20 days ahead: fine
    now = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1820)
    plan = ht.build_plan(p2, store, now=now)
    assert plan.changed and "within renew_before_days" in plan.leaves["client"]["reasons"][0]


def test_reissue_when_validity_below_renew_before(tmp_path, secretsmanager):
    p = params(tmp_path, validity_days=10, renew_before_days=20)
    store = ca_store.SecretsManagerCAStore(secretsmanager, "test1")
    _, first = run(p, store)
    _, second = run(p, store)
    assert second["changed"] and second["certificates"]["client"]["serial"] != first["certificates"]["client"]["serial"]


def test_reissue_when_signed_by_another_ca(tmp_path):
    p = params(tmp_path, ca_source="files", ca_path=str(tmp_path / "pki"))
    run(p, _files_store(tmp_path))
    # replace the CA deliberately
    for f in ("ca.pem", "ca-key.pem"):
        os.unlink(tmp_path / "pki" / f)
    plan, res = run(p, _files_store(tmp_path))
    assert res["ca"]["created"]
    assert res["certificates"]["client"]["reasons"] == ["certificate not signed by the current CA"]
    ca = read_cert(tmp_path / "pki" / "ca.pem")
    read_cert(tmp_path / "helm" / "clusters" / "test1" / "cert.pem").verify_directly_issued_by(ca)
    assert (tmp_path / "helm" / "ca.pem").read_bytes() == (tmp_path / "pki" / "ca.pem").read_bytes()


def test_reissue_when_missing_or_mismatched_key(tmp_path):
    p = params(tmp_path, ca_source="files", ca_path=str(tmp_path / "pki"))
    run(p, _files_store(tmp_path))
    cdir = tmp_path / "helm" / "clusters" / "test1"
    os.unlink(cdir / "key.pem")
    plan = ht.build_plan(p, _files_store(tmp_path))
    assert plan.leaves["client"]["reasons"] == ["private key missing or unreadable"]
    ht.apply_plan(plan)
    other = pki.generate_key(KEY_SIZE)
    (cdir / "key.pem").write_bytes(pki.key_pem(other))
    plan = ht.build_plan(p, _files_store(tmp_path))
    assert "private key does not match the certificate" in plan.leaves["client"]["reasons"]


def test_reissue_when_namespace_changes(tmp_path):
    p = params(tmp_path, ca_source="files", ca_path=str(tmp_path / "pki"))
    run(p, _files_store(tmp_path))
    p2 = params(tmp_path, ca_source="files", ca_path=str(tmp_path / "pki"), tiller_namespace="kube-system")
    plan, res = run(p2, _files_store(tmp_path))
    assert res["changed"] and res["certificates"]["client"]["sans"] == ["DNS:tiller-deploy.kube-system"]


def test_force_renew(tmp_path):
    p = params(tmp_path, ca_source="files", ca_path=str(tmp_path / "pki"))
    _, first = run(p, _files_store(tmp_path))
    _, res = run(params(tmp_path, ca_source="files", ca_path=str(tmp_path / "pki"), force_renew=True),
                 _files_store(tmp_path))
    assert res["certificates"]["client"]["reasons"] == ["force_renew"]
    assert res["certificates"]["client"]["serial"] != first["certificates"]["client"]["serial"]


def test_mode_drift_and_copy_drift_fixed_without_reissue(tmp_path):
    p = params(tmp_path, ca_source="files", ca_path=str(tmp_path / "pki"))
    _, first = run(p, _files_store(tmp_path))
    cdir = tmp_path / "helm" / "clusters" / "test1"
    os.chmod(cdir / "key.pem", 0o644)
    (tmp_path / "helm" / "cert.pem").write_text("other cluster")
    plan, res = run(p, _files_store(tmp_path))
    assert res["changed"] and not res["certificates"]["client"]["issued"]
    actions = {f["path"]: f["action"] for f in res["files"]}
    assert actions[str(cdir / "key.pem")] == "chmod"
    assert actions[str(tmp_path / "helm" / "cert.pem")] == "update"
    assert mode(cdir / "key.pem") == 0o600
    assert (tmp_path / "helm" / "cert.pem").read_bytes() == (cdir / "cert.pem").read_bytes()
    assert res["certificates"]["client"]["serial"] == first["certificates"]["client"]["serial"]


def test_copy_to_helm_home_false(tmp_path):
    p = params(tmp_path, ca_source="files", ca_path=str(tmp_path / "pki"), copy_to_helm_home=False)
    run(p, _files_store(tmp_path))
    assert not (tmp_path / "helm" / "cert.pem").exists()
    assert (tmp_path / "helm" / "clusters" / "test1" / "cert.pem").exists()
