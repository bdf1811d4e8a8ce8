"""Every ClusterConfig the config role renders passes the real eksctl's `create cluster --dry-run -f` against
the local stack's moto server (which answers EKS DescribeClusterVersions through scripts/local_stack/moto_eks_shim.py).

eksctl is built by `scripts/local-stack build eksctl` into the cache (missing: skipped, or a failure with CI=true).
"""
from __future__ import annotations

import copy
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from ansible_collections.tidepool.eks.plugins.module_utils.gitops import registry
from ansible_collections.tidepool.eks.plugins.module_utils.config import cluster_config
from ansible_collections.tidepool.eks.plugins.module_utils.config import validation

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
CI = os.environ.get("CI", "").lower() in ("true", "1", "yes")


def eksctl_binary() -> Path:
    versions = dict(line.split("=", 1) for line in (REPO / "scripts" / "local_stack" / "versions.env").read_text()
                    .splitlines() if "=" in line and not line.startswith("#"))
    cache = Path(os.environ.get("TIDEPOOL_EKS_CACHE", Path.home() / ".cache" / "tidepool-eks"))
    return cache / "bin" / f"eksctl-{versions['EKSCTL_VERSION'].strip()}" / "eksctl"


@pytest.fixture(scope="module")
def eksctl():
    path = eksctl_binary()
    if not os.access(path, os.X_OK):
        reason = f"eksctl not built ({path}); run `scripts/local-stack build eksctl`"
        if CI:
            pytest.fail(f"CI=true: {reason}", pytrace=False)
        pytest.skip(reason)
    return path


def seed_values() -> dict:
    return yaml.safe_load((REPO / "inventories" / "values" / "test1.yml").read_text())


def multi_values() -> dict:
    """Three environments with bucket overrides, three node groups (one managed), extra IRSA account."""
    values = seed_values()
    values["cluster"]["metadata"] = {"name": "multi1", "region": "us-east-1", "version": "1.33"}
    values["cluster"]["nodeGroups"].append({"name": "ng-spot", "instanceType": "m5.xlarge", "minSize": 0,
                                            "maxSize": 6, "desiredCapacity": 0, "labels": {"lifecycle": "spot"}})
    values["cluster"]["managedNodeGroups"] = [{"name": "mng", "instanceType": "t3.large", "minSize": 1,
                                               "maxSize": 3, "desiredCapacity": 2}]
    env = values["environments"]["qa2"]
    values["environments"] = {"qa1": copy.deepcopy(env), "qa2": copy.deepcopy(env), "prd": copy.deepcopy(env)}
    values["environments"]["prd"]["buckets"] = {"data": "tidepool-prd-data-eu", "asset": "tidepool-prd-asset-eu"}
    values["pkgs"]["datadog"] = {"enabled": True}
    return values


def dry_run(eksctl: Path, config: dict, tmp_path: Path, endpoint: str) -> subprocess.CompletedProcess:
    path = tmp_path / f"{config['metadata']['name']}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    env = dict(os.environ, HOME=str(tmp_path), AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="testing",
               AWS_SECRET_ACCESS_KEY="testing", AWS_REGION=config["metadata"]["region"])
    env.pop("AWS_PROFILE", None)
    return subprocess.run([str(eksctl), "create", "cluster", "--dry-run", "-f", str(path)], capture_output=True,
                          text=True, env=env, timeout=300, cwd=tmp_path)


@pytest.mark.parametrize("values", [seed_values(), multi_values()], ids=["test1", "multi-env-multi-nodegroup"])
def test_rendered_cluster_config_passes_eksctl_dry_run(eksctl, moto_server, tmp_path, values):
    assert not validation.validate(values)
    # What the cluster role hands to eksctl_cluster: the committed ClusterConfig plus the IAM users' mappings.
    config = cluster_config.eksctl_cluster_config(values, registry.for_values(values))
    assert len(config["iamIdentityMappings"]) == len(values["aws"]["iamUsers"])
    proc = dry_run(eksctl, config, tmp_path, moto_server)
    assert proc.returncode == 0, proc.stderr
    out = yaml.safe_load(proc.stdout)
    assert out["kind"] == "ClusterConfig" and out["metadata"]["name"] == config["metadata"]["name"]
    assert out["metadata"]["version"] == config["metadata"]["version"]
    assert [ng["name"] for ng in out.get("nodeGroups", [])] == [ng["name"] for ng in config["nodeGroups"]]
    assert [ng["name"] for ng in out.get("managedNodeGroups") or []] == \
        [ng["name"] for ng in config.get("managedNodeGroups") or []]
    got = {(sa["metadata"]["namespace"], sa["metadata"]["name"]) for sa in out["iam"]["serviceAccounts"]}
    want = {(sa["metadata"]["namespace"], sa["metadata"]["name"]) for sa in config["iam"]["serviceAccounts"]}
    assert got == want and out["iam"]["withOIDC"] is True
    assert [m["arn"] for m in out["iamIdentityMappings"]] == [m["arn"] for m in config["iamIdentityMappings"]]


def test_dry_run_rejects_what_eksctl_would_reject(eksctl, moto_server, tmp_path):
    """The dry run is a real check: an unsupported version and an unknown field fail."""
    config = cluster_config.cluster_config(seed_values(), registry.for_values(seed_values()))
    old = copy.deepcopy(config)
    old["metadata"]["version"] = "1.20"
    proc = dry_run(eksctl, old, tmp_path, moto_server)
    assert proc.returncode != 0 and "version" in proc.stderr
    bad = copy.deepcopy(config)
    bad["nodeGroups"][0]["instanceTyp"] = "m4.large"  # a typo'd field
    proc = dry_run(eksctl, bad, tmp_path, moto_server)
    assert proc.returncode != 0 and "instanceTyp" in proc.stderr
