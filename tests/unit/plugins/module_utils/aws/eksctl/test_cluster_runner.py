"""The runner of eksctl_cluster (plugins/module_utils/aws/eksctl/cluster_runner.py): read (moto, in process), plan, run a
recording stand-in eksctl (a real child process), read again; check mode runs nothing; a failure names what ran."""
from __future__ import annotations

import json
import os
import stat
import sys

import boto3
import pytest
import yaml
from moto import mock_aws

from ansible_collections.tidepool.eks.plugins.module_utils.aws.eksctl import cluster_runner
from ansible_collections.tidepool.eks.plugins.module_utils.aws.eksctl.state import ClusterError

REGION = "us-west-2"
NAME = "unit"

STANDIN = """#!{python}
import json, os, sys
import yaml
argv = sys.argv[1:]
config = yaml.safe_load(open(argv[argv.index("-f") + 1])) if "-f" in argv else None
with open(os.environ["EKSCTL_RECORD"], "a") as fh:
    fh.write(json.dumps({{"argv": argv, "config": config, "region": os.environ.get("AWS_REGION")}}) + "\\n")
print("stand-in eksctl", " ".join(argv[:2]))
sys.exit(int(os.environ.get("EKSCTL_STANDIN_RC", "0")))
"""


@pytest.fixture
def eksctl(tmp_path, monkeypatch):
    """Path of the stand-in; returns the recorded calls through ``eksctl.calls()``."""
    exe = tmp_path / "eksctl"
    exe.write_text(STANDIN.format(python=sys.executable))
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    record = tmp_path / "record.jsonl"
    monkeypatch.setenv("EKSCTL_RECORD", str(record))
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")

    class Eksctl:
        path = str(exe)

        @staticmethod
        def calls():
            return [json.loads(line) for line in record.read_text().splitlines()] if record.exists() else []
    return Eksctl


@pytest.fixture
def clients():
    with mock_aws():
        yield {svc: boto3.client(svc, region_name=REGION) for svc in cluster_runner.SERVICES}


def config():
    return {"apiVersion": "eksctl.io/v1alpha5", "kind": "ClusterConfig",
            "metadata": {"name": NAME, "region": REGION, "version": "1.34"},
            "nodeGroups": [{"name": "ng", "instanceType": "m5.large", "minSize": 1, "maxSize": 3, "desiredCapacity": 2}]}


def params(eksctl, tmp_path, **kw):
    out = {"config": config(), "config_file": None, "state": "present", "kubeconfig": str(tmp_path / "kube" / "config"),
           "prune_nodegroups": False, "on_failed_stack": "fail", "eksctl_path": eksctl.path, "wait_timeout": 60,
           "scope": "cluster", "log_file": None, "region": "eu-west-1"}
    out.update(kw)
    return out


def test_check_mode_plans_the_create_and_runs_nothing(eksctl, clients, tmp_path):
    out = cluster_runner.run(params(eksctl, tmp_path), check_mode=True, tmpdir=str(tmp_path), clients=clients)
    assert out["changed"] is True and out["cluster"]["status"] == "absent"
    assert [c[1:3] for c in out["commands"]] == [["create", "cluster"]] and "runs" not in out
    assert eksctl.calls() == []


def test_a_run_hands_eksctl_the_config_file_and_the_configs_region(eksctl, clients, tmp_path):
    log = tmp_path / "logs" / "eksctl.log"
    out = cluster_runner.run(params(eksctl, tmp_path, log_file=str(log)), check_mode=False, tmpdir=str(tmp_path),
                             clients=clients)
    calls = eksctl.calls()
    assert [c["argv"][:2] for c in calls] == [["create", "cluster"]]
    assert calls[0]["config"] == config() and calls[0]["region"] == REGION  # metadata.region beats the option
    config_file = calls[0]["argv"][calls[0]["argv"].index("-f") + 1]
    assert stat.S_IMODE(os.stat(config_file).st_mode) == 0o600
    assert [r["rc"] for r in out["runs"]] == [0] and (tmp_path / "kube").is_dir()
    assert log.read_text().splitlines()[-1].endswith("stand-in eksctl create cluster")


def test_a_failed_eksctl_names_the_commands_and_what_ran(eksctl, clients, tmp_path, monkeypatch):
    monkeypatch.setenv("EKSCTL_STANDIN_RC", "3")
    with pytest.raises(cluster_runner.EksctlFailed, match=r"failed \(exit 3\)") as err:
        cluster_runner.run(params(eksctl, tmp_path), check_mode=False, tmpdir=str(tmp_path), clients=clients)
    assert isinstance(err.value, ClusterError)
    assert [c[1:3] for c in err.value.fields["commands"]] == [["create", "cluster"]]
    assert [r["rc"] for r in err.value.fields["runs"]] == [3]


def test_a_config_file_that_is_not_a_cluster_config_is_one_error_before_any_read(eksctl, tmp_path):
    listing = tmp_path / "list.yaml"
    listing.write_text("- not a mapping\n")
    with pytest.raises(ClusterError, match=f"config_file {listing} does not hold a ClusterConfig mapping"):
        cluster_runner.run(params(eksctl, tmp_path, config=None, config_file=str(listing)), check_mode=True,
                           tmpdir=str(tmp_path), clients={})
    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump({"kind": "Deployment"}))
    with pytest.raises(ClusterError, match="The config is a Deployment, not an eksctl ClusterConfig"):
        cluster_runner.run(params(eksctl, tmp_path, config=None, config_file=str(other)), check_mode=True,
                           tmpdir=str(tmp_path), clients={})
    assert eksctl.calls() == []


def test_the_module_shell_reports_a_failed_eksctl_with_its_commands(eksctl, tmp_path, monkeypatch, capsys):
    """main() is the argument spec and one call: the runner's failure ends the task with its fields."""
    from ansible.module_utils import basic
    from ansible.module_utils.common.text.converters import to_bytes

    from ansible_collections.tidepool.eks.plugins.modules import eksctl_cluster

    monkeypatch.setenv("EKSCTL_STANDIN_RC", "3")
    args = {"config": config(), "eksctl_path": eksctl.path, "kubeconfig": str(tmp_path / "kube" / "config"),
            "_ansible_tmpdir": str(tmp_path)}
    monkeypatch.setattr(basic, "_ANSIBLE_ARGS", to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": args})))
    monkeypatch.setattr(basic, "_ANSIBLE_PROFILE", "legacy", raising=False)
    with mock_aws(), pytest.raises(SystemExit):
        eksctl_cluster.main()
    result = json.loads(capsys.readouterr().out)
    assert result["failed"] is True and "failed (exit 3)" in result["msg"], result
    assert [c[1:3] for c in result["commands"]] == [["create", "cluster"]] and [r["rc"] for r in result["runs"]] == [3]
