"""tidepool.eks.helm_tls_cert through ansible-playbook against the moto server of the local stack."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import uuid

import boto3
import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from tests.support.helpers import REPO, recap, run_playbook

pytestmark = pytest.mark.integration

PLAYBOOK = REPO / "tests" / "integration" / "playbooks" / "helm_tls.yml"


def play(tls: dict, *, check=False, diff=False, verbosity=0, json_out=True):
    env = {"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"} if json_out else {}
    proc = run_playbook(PLAYBOOK, limit="local", extra_vars={"tls": tls, "aws_endpoint_url": os.environ["AWS_ENDPOINT_URL"]},
                        check=check, diff=diff, verbosity=verbosity, env=env)
    if not json_out:
        return proc, None
    assert proc.returncode in (0, 2), proc.stdout + proc.stderr
    data = json.loads(proc.stdout)
    task = data["plays"][0]["tasks"][0]["hosts"]["local"]
    return proc, {"stats": data["stats"]["local"], "result": task}


@pytest.fixture
def cluster():
    return "tls-" + uuid.uuid4().hex[:8]


@pytest.fixture
def sm(moto_server):
    return boto3.client("secretsmanager", endpoint_url=moto_server, region_name="us-east-1")


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def load(path):
    return x509.load_pem_x509_certificate(open(path, "rb").read())


def test_first_run_second_run_and_files(moto_server, sm, cluster, tmp_path):
    helm = tmp_path / "helm"
    tls = {"cluster": cluster, "helm_home": str(helm), "issue": ["client", "server"],
           "server_dest": str(tmp_path / "tiller")}

    # check mode on a blank slate: predicts changes, writes nothing, creates no secret
    _, out = play(tls, check=True, diff=True)
    assert out["stats"]["changed"] == 1 and out["stats"]["failures"] == 0
    assert out["result"]["ca"]["created"] is True
    assert not helm.exists() and not (tmp_path / "tiller").exists()
    assert sm.list_secrets(Filters=[{"Key": "name", "Values": [cluster]}])["SecretList"] == []

    _, out = play(tls)
    assert out["stats"]["changed"] == 1, out
    res = out["result"]
    # CA stored as raw PEM at <cluster>/flux/ca.pem and ca-key.pem
    ca_pem = sm.get_secret_value(SecretId=f"{cluster}/flux/ca.pem")["SecretString"]
    ca_key = sm.get_secret_value(SecretId=f"{cluster}/flux/ca-key.pem")["SecretString"]
    assert ca_pem.startswith("-----BEGIN CERTIFICATE-----")
    assert "PRIVATE KEY-----" in ca_key
    ca = x509.load_pem_x509_certificate(ca_pem.encode())
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca

    cdir = helm / "clusters" / cluster
    for d in (cdir, helm, tmp_path / "tiller"):
        assert mode(d / "key.pem") == 0o600 and mode(d / "cert.pem") == 0o600 and mode(d / "ca.pem") == 0o600
        assert (d / "ca.pem").read_text() == ca_pem
    assert not list(tmp_path.rglob("ca-key.pem")), "the CA key must not be kept on disk"

    client = load(cdir / "cert.pem")
    client.verify_directly_issued_by(ca)
    assert client.subject.rfc4514_string() == "CN=helm-client"
    assert [n.value for n in client.extensions.get_extension_for_class(x509.SubjectAlternativeName).value] == \
        ["tiller-deploy.flux"]
    assert ExtendedKeyUsageOID.CLIENT_AUTH in client.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    server = load(tmp_path / "tiller" / "cert.pem")
    server.verify_directly_issued_by(ca)
    assert server.subject.rfc4514_string() == "CN=tiller-deploy.flux"
    # openssl agrees, when it is installed
    if subprocess.run(["which", "openssl"], capture_output=True).returncode == 0:
        ver = subprocess.run(["openssl", "verify", "-CAfile", str(cdir / "ca.pem"), "-purpose", "sslclient",
                              str(cdir / "cert.pem")], capture_output=True, text=True)
        assert ver.returncode == 0 and ": OK" in ver.stdout, ver.stdout + ver.stderr
        assert subprocess.run(["openssl", "verify", "-CAfile", str(cdir / "ca.pem"), "-purpose", "sslserver",
                               str(tmp_path / "tiller" / "cert.pem")], capture_output=True).returncode == 0
    assert res["certificates"]["client"]["subject"] == "CN=helm-client"
    assert res["ca"]["cert"] == f"{cluster}/flux/ca.pem"

    # second run: unchanged; check mode: unchanged
    before = {p: p.read_bytes() for p in tmp_path.rglob("*.pem")}
    _, out = play(tls)
    assert out["stats"]["changed"] == 0, out
    _, out = play(tls, check=True, diff=True)
    assert out["stats"]["changed"] == 0, out
    assert {p: p.read_bytes() for p in tmp_path.rglob("*.pem")} == before


def test_reissue_when_expiring_and_when_ca_differs(moto_server, sm, cluster, tmp_path):
    tls = {"cluster": cluster, "helm_home": str(tmp_path / "helm")}
    # validity shorter than renew_before: every run finds the certificate due for renewal
    short = dict(tls, validity_days=10, renew_before_days=20)
    _, out = play(short)
    serial = out["result"]["certificates"]["client"]["serial"]
    # check mode predicts the re-issue and writes nothing
    cert_before = (tmp_path / "helm" / "cert.pem").read_bytes()
    _, out = play(short, check=True, diff=True)
    assert out["stats"]["changed"] == 1
    assert "within renew_before_days" in out["result"]["certificates"]["client"]["reasons"][0]
    assert (tmp_path / "helm" / "cert.pem").read_bytes() == cert_before
    _, out = play(short)
    assert out["stats"]["changed"] == 1 and out["result"]["certificates"]["client"]["serial"] != serial
    # with the defaults (5 years, renew 30 days before) the 10-day certificate is due too, then stable
    _, out = play(tls)
    assert out["stats"]["changed"] == 1
    _, out = play(tls)
    assert out["stats"]["changed"] == 0

    # the CA in Secrets Manager is replaced by someone: the client cert no longer verifies -> re-issue
    sm.delete_secret(SecretId=f"{cluster}/flux/ca.pem", ForceDeleteWithoutRecovery=True)
    sm.delete_secret(SecretId=f"{cluster}/flux/ca-key.pem", ForceDeleteWithoutRecovery=True)
    _, out = play(tls)
    assert out["result"]["ca"]["created"] is True
    assert out["result"]["certificates"]["client"]["reasons"] == ["certificate not signed by the current CA"]
    ca = x509.load_pem_x509_certificate(sm.get_secret_value(SecretId=f"{cluster}/flux/ca.pem")["SecretString"].encode())
    load(tmp_path / "helm" / "clusters" / cluster / "cert.pem").verify_directly_issued_by(ca)
    _, out = play(tls)
    assert out["stats"]["changed"] == 0


def test_existing_ca_is_never_overwritten(moto_server, sm, cluster, tmp_path):
    sm.create_secret(Name=f"{cluster}/flux/ca.pem", SecretString="not a certificate")
    sm.create_secret(Name=f"{cluster}/flux/ca-key.pem", SecretString="not a key")
    proc, out = play({"cluster": cluster, "helm_home": str(tmp_path / "helm")})
    assert out["stats"]["failures"] == 1
    assert "is not a PEM certificate" in out["result"]["msg"]
    assert "Traceback" not in proc.stdout
    assert sm.get_secret_value(SecretId=f"{cluster}/flux/ca.pem")["SecretString"] == "not a certificate"


def test_create_ca_false_without_ca_fails_clearly(moto_server, cluster, tmp_path):
    _, out = play({"cluster": cluster, "helm_home": str(tmp_path / "helm"), "create_ca": False})
    assert out["stats"]["failures"] == 1
    assert f"No Tiller CA for cluster {cluster}" in out["result"]["msg"]
    assert not (tmp_path / "helm").exists()


def test_files_ca_source(moto_server, cluster, tmp_path):
    tls = {"cluster": cluster, "helm_home": str(tmp_path / "helm"), "ca_source": "files",
           "ca_path": str(tmp_path / "pki")}
    _, out = play(tls)
    assert out["stats"]["changed"] == 1 and out["result"]["ca"]["source"] == "files"
    assert mode(tmp_path / "pki" / "ca-key.pem") == 0o600
    _, out = play(tls)
    assert out["stats"]["changed"] == 0


def test_no_key_material_in_output_at_vvvv(moto_server, sm, cluster, tmp_path):
    tls = {"cluster": cluster, "helm_home": str(tmp_path / "helm"), "issue": ["client", "server"],
           "server_dest": str(tmp_path / "tiller")}
    first, _ = play(tls, diff=True, verbosity=4, json_out=False)
    assert first.returncode == 0, first.stdout + first.stderr
    assert recap(first.stdout)["local"]["changed"] == 1
    forced, _ = play(dict(tls, force_renew=True), diff=True, verbosity=4, json_out=False)
    assert forced.returncode == 0, forced.stdout + forced.stderr
    second, _ = play(tls, check=True, diff=True, verbosity=4, json_out=False)
    secrets = [sm.get_secret_value(SecretId=f"{cluster}/flux/ca-key.pem")["SecretString"]]
    secrets += [p.read_text() for p in tmp_path.rglob("key.pem")]
    for output in (first.stdout + first.stderr, forced.stdout + forced.stderr, second.stdout + second.stderr):
        assert "PRIVATE KEY" not in output
        for secret in secrets:
            for line in secret.splitlines()[1:-1]:
                assert line not in output
