"""No secret value appears in any task output, even at -vvvv with --diff (issue 4).

Runs the secrets role (generation, vendor secrets, a secrets file, rotation) and the external_secret module
at -vvvv --diff, then greps stdout/stderr for every value stored in Secrets Manager or written to disk.
"""
from __future__ import annotations

import base64
import json
from pathlib import Path

import boto3
import pytest
import yaml

from tests.support.helpers import REPO, run_playbook
from tests.support.inventory import write_host

pytestmark = pytest.mark.integration

TRIVIAL = {"", "mongodb", "admin", "false", "[]"}   # catalogue defaults, not secrets


def _inventory(tmp_path: Path, src: Path, backend: str) -> Path:
    host = {"cluster": {"metadata": {"name": "nolog", "region": "us-east-1"}},
            "environments": {"qa1": {}}, "pkgs": {"sumologic": {"enabled": True}},
            "aws": {"accountNumber": "123456789012", "iamUsers": []},
            "email": "admin@example.com",
            "secrets_backend": backend, "secrets_publish": False, "secrets_manifest_dir": str(tmp_path / backend),
            "secrets_files": [str(src)],
            "secrets_vendor": {"qa1/mailchimp": {"ApiKey": "mailchimp-api-key-VENDOR-1", "URL": "https://mc.example",
                                                 "ClinicLists": "[]", "PersonalLists": "[]"},
                               "sumologic/sumologic": {"collector-url": "https://collector.example/SECRET-TOKEN-5"}}}
    path = tmp_path / f"inventory-{backend}.yml"
    path.write_text(yaml.safe_dump({"all": {"vars": {"ansible_connection": "local",
                                                     "ansible_python_interpreter": "{{ ansible_playbook_python }}"},
                                            "children": {"clusters": {"hosts": {"nolog": write_host(path, "nolog", host)}}}}}))
    return path


def _secret_file(tmp_path: Path) -> Path:
    src = tmp_path / "file-secrets.yaml"
    src.write_text(yaml.safe_dump_all([{"apiVersion": "v1", "kind": "Secret",
                                        "metadata": {"name": "kissmetrics", "namespace": "qa1"},
                                        "data": {"APIKey": base64.b64encode(b"kiss-api-key-FILE-9").decode(),
                                                 "Token": base64.b64encode(b"kiss-token-FILE-10").decode()}}]))
    return src


def _assert_clean(output: str, values: set) -> None:
    leaked = sorted(v for v in values if v not in TRIVIAL and v in output)
    assert not leaked, f"{len(leaked)} secret value(s) in the output, e.g. a value of length {len(leaked[0])}"


def test_aws_backend_output_has_no_values(moto_reset, tmp_path):
    inv = _inventory(tmp_path, _secret_file(tmp_path), "aws")
    outputs = []
    for extra in ({}, {"secrets_rotate": ["qa1/shoreline"]}):
        proc = run_playbook(REPO / "playbooks" / "secrets.yml", inventory=inv, limit="nolog", verbosity=4, diff=True,
                            extra_vars=extra or None)
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
        outputs.append(proc.stdout + proc.stderr)
    proc = run_playbook(REPO / "playbooks" / "secrets.yml", inventory=inv, limit="nolog", verbosity=4, diff=True,
                        check=True, extra_vars={"secrets_rotate": ["qa1/auth"]})
    assert proc.returncode == 0
    outputs.append(proc.stdout + proc.stderr)

    sm = boto3.client("secretsmanager")
    values = set()
    for page in sm.get_paginator("list_secrets").paginate():
        for entry in page["SecretList"]:
            if entry["Name"].startswith("nolog/"):
                values |= set(json.loads(sm.get_secret_value(SecretId=entry["Name"])["SecretString"]).values())
    # What the test put in must have been stored, and generated values must exist, or the grep proves nothing.
    assert {"mailchimp-api-key-VENDOR-1", "kiss-api-key-FILE-9", "https://collector.example/SECRET-TOKEN-5"} <= values
    assert sum(1 for v in values if len(v) == 40) >= 15
    for output in outputs:
        _assert_clean(output, values)
        _assert_clean(output, {base64.b64encode(v.encode()).decode() for v in values if v not in TRIVIAL})


def test_git_backend_output_has_no_values(moto_reset, tmp_path):
    inv = _inventory(tmp_path, _secret_file(tmp_path), "git")
    proc = run_playbook(REPO / "playbooks" / "secrets.yml", inventory=inv, limit="nolog", verbosity=4, diff=True)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    values, encoded = set(), set()
    for path in (tmp_path / "git").rglob("*.yaml"):
        for value in (yaml.safe_load(path.read_text()).get("data") or {}).values():
            encoded.add(value)
            values.add(base64.b64decode(value).decode())
    assert "kiss-token-FILE-10" in values and sum(1 for v in values if len(v) == 40) >= 15
    _assert_clean(proc.stdout + proc.stderr, values)
    _assert_clean(proc.stdout + proc.stderr, {e for e in encoded if len(e) > 8})


def test_module_diff_and_errors_have_no_values(moto_reset, tmp_path):
    playbook = Path(__file__).parent / "playbooks" / "external_secret.yml"
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "auth", "namespace": "qa1"},
              "stringData": {"ServiceAuth": "first-value-ABCDEFGH"}}
    outputs = []
    # Values go in through a vars file: at -vvvv ansible-playbook echoes its command line (-e JSON) itself.
    varsfile = tmp_path / "vars.yml"
    for value in ("first-value-ABCDEFGH", "second-value-IJKLMNOP"):
        secret["stringData"]["ServiceAuth"] = value
        varsfile.write_text(json.dumps({"es_cluster": "nolog", "es_secrets": [secret], "es_encoding": "plaintext"}))
        proc = run_playbook(playbook, verbosity=4, diff=True, args=["-e", f"@{varsfile}"])
        assert proc.returncode == 0, proc.stdout[-3000:]
        outputs.append(proc.stdout + proc.stderr)
    assert "+        ServiceAuth: <new value>" in outputs[1]
    bad = dict(secret, stringData={"bad key!": "third-value-QRSTUVWX"})
    varsfile.write_text(json.dumps({"es_cluster": "nolog", "es_secrets": [bad]}))
    proc = run_playbook(playbook, verbosity=4, args=["-e", f"@{varsfile}"])
    assert proc.returncode != 0
    outputs.append(proc.stdout + proc.stderr)
    for output in outputs:
        _assert_clean(output, {"first-value-ABCDEFGH", "second-value-IJKLMNOP", "third-value-QRSTUVWX"})


def test_flux_role_output_has_no_private_key_and_no_token(local_stack_env, kube_stack):
    """The flux role at -vvvv --diff (install, rerun, key rotation, check mode) prints no private key (deploy key,
    Tiller and helm-operator TLS keys, the CA key) and no GitHub token."""
    outputs = []
    for extra, check in (({}, False), ({"flux_rotate_deploy_key": True}, False), ({}, True)):
        proc = run_playbook(REPO / "playbooks" / "flux.yml", limit="local", verbosity=4, diff=True, check=check,
                            extra_vars=extra or None, env=local_stack_env)
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
        outputs.append(proc.stdout + proc.stderr)
    assert "flux_bootstrap" in outputs[0] and "<hidden, changed>" in outputs[1]

    secret = json.loads(kube_stack.kubectl("get", "secret", "-n", "flux", "flux-git-deploy", "-o", "json").stdout)
    values = {secret["data"]["identity"], local_stack_env["GITHUB_TOKEN"]}
    pem_texts = [base64.b64decode(secret["data"]["identity"]).decode()]
    for name in ("tiller-secret", "flux-helm-tls-cert"):
        data = json.loads(kube_stack.kubectl("get", "secret", "-n", "flux", name, "-o", "json").stdout)["data"]
        values.add(data["tls.key"])
        pem_texts.append(base64.b64decode(data["tls.key"]).decode())
    sm = boto3.client("secretsmanager")
    pem_texts.append(sm.get_secret_value(SecretId="local/flux/ca-key.pem")["SecretString"])
    for text in pem_texts:
        values |= {line for line in text.splitlines() if line and "-----" not in line}
    assert len(values) > 20
    for output in outputs:
        _assert_clean(output, values)
        # escaped newlines (JSON in -vvvv output) must not carry a key either
        _assert_clean(output.replace("\\n", "\n"), values)
