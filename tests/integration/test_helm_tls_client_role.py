"""The helm_client role (make_cert) through ansible-playbook against the moto server of the local stack."""
from __future__ import annotations

import os
import stat
import uuid

import boto3
import pytest
from cryptography import x509

from tests.support.helpers import REPO, recap, run_playbook

pytestmark = pytest.mark.integration

PLAYBOOK = REPO / "playbooks" / "helm_client.yml"


def play(extra, *, check=False, env=None, verbosity=0):
    extra = dict(extra, aws_endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    env = dict({"TILLER_NAMESPACE": "", "HELM_TLS_ENABLE": ""}, **(env or {}))
    proc = run_playbook(PLAYBOOK, limit="local", extra_vars=extra, check=check, diff=check, env=env,
                        verbosity=verbosity)
    return proc, recap(proc.stdout).get("local", {})


@pytest.fixture(autouse=True)
def _whole_stack(local_stack_env):
    """playbooks/helm_client.yml on host ``local`` runs the preflight, which reads the config repository once the
    stack's API server answers: with the kube group up and the git group not (a shuffled order, after a module that
    only asked for kube_stack), the run failed "cannot read git://127.0.0.1:19418/". The whole stack, always."""
    return local_stack_env


@pytest.fixture
def extra(tmp_path):
    name = "hc-" + uuid.uuid4().hex[:8]
    return {"cluster": {"metadata": {"name": name, "region": "us-east-1"}},
            "helm_client_helm_home": str(tmp_path / "helm"), "helm_client_key_size": 2048,
            # the local host keeps its files in the stack dir and does not copy; this test covers make_cert's copy
            "helm_client_copy_to_helm_home": True}


def test_make_cert(moto_server, extra, tmp_path):
    name = extra["cluster"]["metadata"]["name"]
    proc, stats = play(extra, check=True)
    assert proc.returncode == 0 and stats["changed"] == 1, proc.stdout + proc.stderr
    assert not (tmp_path / "helm").exists()

    proc, stats = play(extra)
    assert proc.returncode == 0 and stats["changed"] == 1, proc.stdout + proc.stderr
    assert "export TILLER_NAMESPACE=flux HELM_TLS_ENABLE=true" in proc.stdout
    sm = boto3.client("secretsmanager", endpoint_url=moto_server, region_name="us-east-1")
    ca = x509.load_pem_x509_certificate(sm.get_secret_value(SecretId=f"{name}/flux/ca.pem")["SecretString"].encode())
    cdir = tmp_path / "helm" / "clusters" / name
    for d in (cdir, tmp_path / "helm"):
        cert = x509.load_pem_x509_certificate((d / "cert.pem").read_bytes())
        cert.verify_directly_issued_by(ca)
        assert cert.subject.rfc4514_string() == "CN=helm-client"
        assert stat.S_IMODE(os.stat(d / "key.pem").st_mode) == 0o600
        assert stat.S_IMODE(os.stat(d / "cert.pem").st_mode) == 0o600
    assert not list(tmp_path.rglob("ca-key.pem"))

    proc, stats = play(extra, env={"TILLER_NAMESPACE": "flux", "HELM_TLS_ENABLE": "true"})
    assert proc.returncode == 0 and stats["changed"] == 0, proc.stdout
    assert "export TILLER_NAMESPACE" not in proc.stdout
    proc, stats = play(extra, check=True)
    assert proc.returncode == 0 and stats["changed"] == 0, proc.stdout

    # "Regenerate Helm Client Certs"
    proc, stats = play(dict(extra, helm_client_force_renew=True))
    assert proc.returncode == 0 and stats["changed"] == 1, proc.stdout


def test_missing_ca_with_create_ca_false(moto_server, extra, tmp_path):
    proc, stats = play(dict(extra, helm_client_create_ca=False))
    assert proc.returncode != 0 and stats["failed"] == 1
    assert "No Tiller CA for cluster" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr


def test_argument_spec_names_the_missing_variable(moto_server, extra):
    bad = dict(extra, cluster={"metadata": {"name": extra["cluster"]["metadata"]["name"]}})
    proc, stats = play(bad)
    assert proc.returncode != 0
    assert "region" in proc.stdout
