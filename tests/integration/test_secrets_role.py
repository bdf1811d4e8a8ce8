"""The secrets role through ansible-playbook against the local stack's moto server."""
from __future__ import annotations

import base64
import json
import re
import subprocess
from pathlib import Path

import boto3
import jsonschema
import pytest
import yaml

from ansible_collections.tidepool.eks.plugins.module_utils.config import tidepool_chart
from tests.support.helpers import REPO, SHARED, recap, run_playbook
from tests.support.inventory import write_host

pytestmark = pytest.mark.integration

PLAYBOOK = REPO / "playbooks" / "secrets.yml"
CRD = SHARED / "reference" / "crds" / "kubernetes-external-secrets" / "externalsecrets.yaml"
RANDOM_RE = re.compile(r"^[A-Za-z0-9]{40}$")
ENV_SECRETS = {"auth", "blob", "data", "image", "notification", "task", "user", "server", "export", "shoreline",
               "userdata", "mongo", "carelink", "dexcom", "kissmetrics", "mailchimp", "marketo"}


def inventory(tmp_path: Path, cluster: str = "r1", **hostvars) -> Path:
    host = {"cluster": {"metadata": {"name": cluster, "region": "us-east-1"}},
            "environments": {"qa1": {}, "qa2": {}}, "pkgs": {"datadog": {"enabled": True}, "flux": {"enabled": True}},
            "email": "admin@example.com", "secrets_publish": False,
            "aws": {"accountNumber": "123456789012", "iamUsers": []},
            "secrets_manifest_dir": str(tmp_path / "out"),
            "secrets_vendor": {"qa1/dexcom": {"ClientId": "dexcom-id-vendor", "ClientSecret": "dexcom-secret-vendor-77",
                                              "StateSalt": "dexcom-salt-vendor-88"}}}
    host.update(hostvars)
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump({"all": {"vars": {"ansible_connection": "local",
                                                     "ansible_python_interpreter": "{{ ansible_playbook_python }}"},
                                            "children": {"clusters": {"hosts": {cluster: write_host(path, cluster, host)}}}}}))
    return path


def stored(cluster: str = "r1") -> dict:
    sm = boto3.client("secretsmanager")
    out = {}
    for page in sm.get_paginator("list_secrets").paginate():
        for entry in page["SecretList"]:
            if entry["Name"].startswith(f"{cluster}/"):
                out[entry["Name"]] = json.loads(sm.get_secret_value(SecretId=entry["Name"])["SecretString"])
    return out


def play(inv: Path, **kw) -> subprocess.CompletedProcess:
    proc = run_playbook(PLAYBOOK, inventory=inv, limit=kw.pop("limit", "r1"), **kw)
    return proc


def test_generate_once_never_rotate_and_rotate_on_request(moto_reset, tmp_path):
    inv = inventory(tmp_path)
    out = tmp_path / "out"
    proc = play(inv, check=True, diff=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert recap(proc.stdout)["r1"]["changed"] >= 1 and stored() == {} and not out.exists()

    proc = play(inv)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    first = stored()
    expected_ids = {f"r1/{env}/{name}" for env in ("qa1", "qa2") for name in ENV_SECRETS} | {"r1/datadog/datadog"}
    assert set(first) == expected_ids
    assert first["r1/qa1/dexcom"] == {"ClientId": "dexcom-id-vendor", "ClientSecret": "dexcom-secret-vendor-77",
                                      "StateSalt": "dexcom-salt-vendor-88"}
    assert first["r1/qa2/dexcom"] == {"ClientId": "", "ClientSecret": "", "StateSalt": ""}   # placeholder
    assert first["r1/qa1/mongo"]["Addresses"] == "mongodb" and first["r1/qa1/mongo"]["Tls"] == "false"
    randoms = [v for sid, vals in first.items() for k, v in vals.items()
               if sid.split("/")[2] in {"auth", "blob", "data", "image", "notification", "task", "user", "server",
                                        "export", "shoreline", "userdata"}]
    assert len(randoms) == 2 * (8 + 1 + 3 + 3) and all(RANDOM_RE.match(v) for v in randoms)
    assert len(set(randoms)) == len(randoms)                      # every key drawn independently
    assert set(first["r1/qa1/shoreline"]) == {"ServiceAuth", "UserLongTermKey", "UserMailVerification"}

    schema = yaml.safe_load(CRD.read_text())["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.yaml"))
    assert len(files) == len(expected_ids) and "datadog/datadog.yaml" in files
    for path in out.rglob("*.yaml"):
        jsonschema.validate(yaml.safe_load(path.read_text()), schema)
        assert oct(path.stat().st_mode & 0o777) == "0o644"

    for check in (False, True):                                     # rerun, then check mode: no change
        proc = play(inv, check=check, diff=check)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert recap(proc.stdout)["r1"]["changed"] == 0, proc.stdout
    assert stored() == first                                        # generated values identical across reruns

    proc = play(inv, extra_vars={"secrets_rotate": ["qa1/auth", "qa2/shoreline"]})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rotated = stored()
    changed = {sid for sid in first if rotated[sid] != first[sid]}
    assert changed == {"r1/qa1/auth", "r1/qa2/shoreline"}
    assert all(RANDOM_RE.match(v) for v in rotated["r1/qa2/shoreline"].values())

    proc = play(inv, extra_vars={"secrets_rotate": ["qa1/mongo"]})
    assert proc.returncode != 0 and "secrets_rotate: qa1/mongo are not generated secrets" in proc.stdout
    assert stored() == rotated


def test_invalid_vendor_input_changes_nothing(moto_reset, tmp_path):
    inv = inventory(tmp_path, secrets_vendor={"qa1/dexcom": {"bad key": "value-never-shown-123"}})
    proc = play(inv)
    assert proc.returncode != 0
    assert "'bad key' is not a valid Secret key" in proc.stdout
    assert "value-never-shown-123" not in proc.stdout and stored() == {}
    inv = inventory(tmp_path, secrets_backend="vault")
    proc = play(inv)
    assert proc.returncode != 0 and "secrets_backend" in proc.stdout and stored() == {}


def test_secrets_files_are_stored(moto_reset, tmp_path):
    src = tmp_path / "migrated.yaml"
    src.write_text(yaml.safe_dump_all([{"apiVersion": "v1", "kind": "Secret",
                                        "metadata": {"name": "mongo", "namespace": "qa1"},
                                        "data": {"Addresses": base64.b64encode(b"db.example:27017").decode(),
                                                 "Password": base64.b64encode(b"file-password-42").decode()}}]))
    inv = inventory(tmp_path, secrets_files=[str(src)])
    proc = play(inv)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert stored()["r1/qa1/mongo"] == {"Addresses": "db.example:27017", "Password": "file-password-42"}
    assert stored()["r1/qa2/mongo"]["Addresses"] == "mongodb"
    proc = play(inv)
    assert recap(proc.stdout)["r1"]["changed"] == 0


def test_git_backend_writes_private_base64_secrets(moto_reset, tmp_path):
    inv = inventory(tmp_path, secrets_backend="git")
    out = tmp_path / "out"
    proc = play(inv)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert stored() == {}                                            # no AWS at all
    auth = yaml.safe_load((out / "qa1" / "auth.yaml").read_text())
    assert auth["kind"] == "Secret" and auth["metadata"] == {"name": "auth", "namespace": "qa1"}
    assert RANDOM_RE.match(base64.b64decode(auth["data"]["ServiceAuth"]).decode())
    dexcom = yaml.safe_load((out / "qa1" / "dexcom.yaml").read_text())
    assert base64.b64decode(dexcom["data"]["ClientSecret"]).decode() == "dexcom-secret-vendor-77"
    assert oct((out / "qa1" / "auth.yaml").stat().st_mode & 0o777) == "0o600"
    before = {p: p.read_text() for p in out.rglob("*.yaml")}
    for check in (False, True):
        proc = play(inv, check=check)
        assert proc.returncode == 0 and recap(proc.stdout)["r1"]["changed"] == 0, proc.stdout
    assert {p: p.read_text() for p in out.rglob("*.yaml")} == before


def test_manifests_committed_to_the_config_repo(moto_reset, tmp_path):
    bare = tmp_path / "cluster-r1.git"
    inv = inventory(tmp_path, secrets_publish=True, secrets_manifest_dir="", config_repo_url=f"file://{bare}",
                    config_repo_init=True, config_repo_branch="master",
                    config_repo_workdir=str(tmp_path / "checkout"))
    proc = play(inv)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    listed = subprocess.run(["git", "--git-dir", str(bare), "ls-tree", "-r", "--name-only", "master"],
                            capture_output=True, text=True, check=True).stdout.split()
    assert "clusters/r1/flux/external-secrets/qa1/auth.yaml" in listed
    proc = play(inv)
    assert proc.returncode == 0 and recap(proc.stdout)["r1"]["changed"] == 0, proc.stdout
    log = subprocess.run(["git", "--git-dir", str(bare), "log", "--oneline", "master"],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    assert len(log) == 1


def test_manifests_of_secrets_dropped_from_the_catalogue_are_removed_and_the_stored_values_kept(moto_reset, tmp_path):
    out = tmp_path / "out"
    proc = play(inventory(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    before = stored()
    assert (out / "qa2" / "auth.yaml").exists() and (out / "datadog" / "datadog.yaml").exists()
    (out / "qa1" / "handmade.yaml").write_text("kind: ExternalSecret\n")     # not from the catalogue either

    smaller = inventory(tmp_path, environments={"qa1": {}}, pkgs={"flux": {"enabled": True}})
    proc = play(smaller, check=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (out / "qa2" / "auth.yaml").exists(), "check mode removed a manifest"
    proc = play(smaller)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    left = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.yaml"))
    assert left == sorted(f"qa1/{name}.yaml" for name in ENV_SECRETS), left
    assert stored() == before                                       # the stored values stay in Secrets Manager
    proc = play(smaller)
    assert recap(proc.stdout)["r1"]["changed"] == 0, proc.stdout


def scheduled_for_deletion(cluster: str = "r1") -> set:
    sm = boto3.client("secretsmanager")
    return {e["Name"] for page in sm.get_paginator("list_secrets").paginate(IncludePlannedDeletion=True)
            for e in page["SecretList"] if e["Name"].startswith(f"{cluster}/") and e.get("DeletedDate")}


def test_stored_values_of_a_removed_environment_are_deleted_only_when_asked(moto_reset, tmp_path):
    proc = play(inventory(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    before = stored()
    qa2 = {sid for sid in before if sid.startswith("r1/qa2/")}
    assert len(qa2) == len(ENV_SECRETS)
    smaller = inventory(tmp_path, environments={"qa1": {}})

    for names, refused in ((["qa1"], "qa1 still in use"), (["datadog"], "datadog still in use"),
                           (["flux"], "flux still in use"), (["QA2"], "QA2 not a namespace name"),
                           ("qa2", "a list of environment names")):
        proc = play(smaller, extra_vars={"secrets_purge_environments": names})
        assert proc.returncode != 0 and f"secrets_purge_environments: {refused}" in proc.stdout, proc.stdout
        assert stored() == before and not scheduled_for_deletion()   # refused before anything changed

    asked = {"secrets_purge_environments": ["qa2"], "secrets_purge_recovery_window": 7}
    proc = play(smaller, extra_vars=asked, check=True, diff=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "secretsmanager:r1/qa2/auth (deleted)" in proc.stdout and stored() == before

    proc = play(smaller, extra_vars=asked)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert scheduled_for_deletion() == qa2                           # restorable for 7 days, not gone at once
    assert stored() == {sid: v for sid, v in before.items() if sid not in qa2}   # qa1 and datadog untouched
    proc = play(smaller, extra_vars=asked)
    assert recap(proc.stdout)["r1"]["changed"] == 0, proc.stdout


def test_a_namespace_directory_that_is_a_link_is_refused_and_nothing_is_stored_or_written(moto_reset, tmp_path):
    """A link among the manifest directories (one committed into the config repository, say) never makes the role
    write or delete outside: one error naming it, before any secret is stored."""
    import os
    outside = tmp_path / "somewhere"
    outside.mkdir()
    (outside / "precious.yaml").write_text("mine\n")
    (tmp_path / "out").mkdir()
    os.symlink(outside, tmp_path / "out" / "qa2")
    proc = play(inventory(tmp_path))
    assert proc.returncode != 0
    assert "qa2 in " in proc.stdout and "is a symbolic link" in proc.stdout, proc.stdout[-3000:]
    assert sorted(os.listdir(outside)) == ["precious.yaml"] and (outside / "precious.yaml").read_text() == "mine\n"
    assert stored() == {}


def test_chart_0_26_contract_generated_once_and_kept_when_a_cluster_moves_from_chart_0_1_7(moto_reset, tmp_path):
    # flavour 1 (chart 0.1.7) first, then the same cluster on flavour 2 (chart 0.26.0): docs/tidepool-chart.md
    pkgs = {"flux": {"enabled": True}}
    proc = play(inventory(tmp_path, pkgs=pkgs, secrets_vendor={}))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    before = stored()
    assert set(before["r1/qa1/shoreline"]) == {"ServiceAuth", "UserLongTermKey", "UserMailVerification"}

    inv = inventory(tmp_path, pkgs=pkgs, secrets_vendor={}, flux_version=2)
    proc = play(inv)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    after = stored()
    contract = {f"r1/{env}/{name}" for env in ("qa1", "qa2") for name in tidepool_chart.SECRETS_0_26}
    assert contract <= set(after)
    for env in ("qa1", "qa2"):
        for name, (keys, _operator) in tidepool_chart.SECRETS_0_26.items():
            sid = f"r1/{env}/{name}"
            assert set(keys) <= set(after[sid]), sid
            for key, default in keys.items():
                if default == tidepool_chart.GENERATED:
                    assert RANDOM_RE.match(after[sid][key]), (sid, key)
                elif sid not in before or key not in before[sid]:
                    assert after[sid][key] == default, (sid, key)
    # values a chart 0.1.7 environment already had are kept: sessions, salts and user ids survive the move
    for sid, keys in before.items():
        for key, value in keys.items():
            if sid in after and key in after[sid]:
                assert after[sid][key] == value, (sid, key)
    assert len({after["r1/qa1/shoreline"][k] for k in after["r1/qa1/shoreline"]}) == 8   # drawn independently
    # rerun and check mode: nothing rotates
    for check in (False, True):
        proc = play(inv, check=check, diff=check)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert recap(proc.stdout)["r1"]["changed"] == 0, proc.stdout
    assert stored() == after
