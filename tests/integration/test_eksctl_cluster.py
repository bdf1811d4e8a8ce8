"""tidepool.eks.eksctl_cluster: planning from moto state built with boto3, acting through a recording stand-in
`eksctl` on PATH whose argv (and the ClusterConfig passed with -f) the tests assert exactly."""
from __future__ import annotations

import copy
import json
import os
import stat
import textwrap
from pathlib import Path

import boto3
import pytest
import yaml

from tests.support.adhoc import run_module

pytestmark = pytest.mark.integration

REGION = "us-west-2"
NAME = "ekstest"
CFG = "<config>"  # the -f path (a file in the module's temporary directory) in recorded argv

STANDIN = textwrap.dedent("""\
    #!/usr/bin/env python3
    # Recording stand-in for eksctl: appends {"argv": [...], "config": <the -f file, parsed>} to $EKSCTL_RECORD.
    import json, os, sys
    import yaml
    argv = sys.argv[1:]
    config = None
    if "-f" in argv:
        with open(argv[argv.index("-f") + 1]) as fh:
            config = yaml.safe_load(fh)
    with open(os.environ["EKSCTL_RECORD"], "a") as fh:
        fh.write(json.dumps({"argv": argv, "config": config, "endpoint": os.environ.get("AWS_ENDPOINT_URL"),
                             "region": os.environ.get("AWS_REGION")}) + "\\n")
    print("[i]  stand-in eksctl", " ".join(argv[:2]))
    sys.exit(int(os.environ.get("EKSCTL_STANDIN_RC", "0")))
    """)


@pytest.fixture
def standin(tmp_path):
    """(env for run_module, function returning the recorded calls)."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    exe = bindir / "eksctl"
    import sys
    exe.write_text(STANDIN.replace("#!/usr/bin/env python3", f"#!{sys.executable}", 1))
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    record = tmp_path / "record.jsonl"
    env = {"PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}", "EKSCTL_RECORD": str(record)}

    def calls():
        if not record.exists():
            return []
        return [json.loads(line) for line in record.read_text().splitlines()]
    return env, calls


def normalise(argv):
    """argv with the -f path replaced by CFG."""
    out = list(argv)
    if "-f" in out:
        out[out.index("-f") + 1] = CFG
    return out


def cluster_config(version="1.34", nodegroups=None, sas=None):
    ngs = nodegroups if nodegroups is not None else {"ng": (1, 10, 4)}
    return {
        "apiVersion": "eksctl.io/v1alpha5", "kind": "ClusterConfig",
        "metadata": {"name": NAME, "region": REGION, "version": version},
        "vpc": {"cidr": "10.47.0.0/16"},
        "nodeGroups": [{"name": n, "instanceType": "m4.large", "minSize": a, "maxSize": b, "desiredCapacity": d}
                       for n, (a, b, d) in ngs.items()],
        "iam": {"withOIDC": True, "serviceAccounts": copy.deepcopy(sas if sas is not None else [SA])},
    }


SA = {"metadata": {"name": "external-dns", "namespace": "external-dns"},
      "attachPolicy": {"Version": "2012-10-17",
                       "Statement": [{"Effect": "Allow", "Action": "route53:ListHostedZones", "Resource": "*"}]}}


def build_cluster(endpoint, version="1.34", nodegroups=None, sas=None):
    """What eksctl leaves behind, made with boto3: the cluster stack (VPC), the EKS cluster, one stack per
    unmanaged node group (launch configuration + Auto Scaling group) and per IRSA service account."""
    kw = {"region_name": REGION, "endpoint_url": endpoint}
    cfn, eks = boto3.client("cloudformation", **kw), boto3.client("eks", **kw)
    cfn.create_stack(StackName=f"eksctl-{NAME}-cluster", TemplateBody=json.dumps({"Resources": {"VPC": {
        "Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.47.0.0/16"}}}}))
    ec2 = boto3.client("ec2", **kw)
    vpc = ec2.describe_vpcs(Filters=[{"Name": "cidr", "Values": ["10.47.0.0/16"]}])["Vpcs"][0]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.47.0.0/19", AvailabilityZone=f"{REGION}a")["Subnet"]["SubnetId"]
    eks.create_cluster(name=NAME, version=version, roleArn="arn:aws:iam::123456789012:role/eksctl-ekstest-cluster",
                       resourcesVpcConfig={"subnetIds": [subnet]})
    issuer = eks.describe_cluster(name=NAME)["cluster"]["identity"]["oidc"]["issuer"]
    boto3.client("iam", **kw).create_open_id_connect_provider(Url=issuer, ClientIDList=["sts.amazonaws.com"],
                                                               ThumbprintList=["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"])
    for ng, (lo, hi, want) in (nodegroups if nodegroups is not None else {"ng": (1, 10, 4)}).items():
        cfn.create_stack(StackName=f"eksctl-{NAME}-nodegroup-{ng}", TemplateBody=json.dumps({"Resources": {
            "LC": {"Type": "AWS::AutoScaling::LaunchConfiguration",
                   "Properties": {"ImageId": "ami-12c6146b", "InstanceType": "m4.large"}},
            "NodeGroup": {"Type": "AWS::AutoScaling::AutoScalingGroup", "Properties": {
                "LaunchConfigurationName": {"Ref": "LC"}, "MinSize": str(lo), "MaxSize": str(hi),
                "DesiredCapacity": str(want), "VPCZoneIdentifier": [subnet]}}}}))
    for sa in (sas if sas is not None else [SA]):
        meta = sa["metadata"]
        cfn.create_stack(StackName=f"eksctl-{NAME}-addon-iamserviceaccount-{meta['namespace']}-{meta['name']}",
                         Capabilities=["CAPABILITY_IAM"], TemplateBody=json.dumps({"Resources": {"Role": {
                             "Type": "AWS::IAM::Role", "Properties": {
                                 "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []},
                                 "Policies": [{"PolicyName": "policy1", "PolicyDocument": sa["attachPolicy"]}]}}}}))
    return eks.describe_cluster(name=NAME)["cluster"]


def kubeconfig_for(path: Path, endpoint: str):
    path.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Config", "clusters": [
        {"name": f"{NAME}.{REGION}.eksctl.io", "cluster": {"server": endpoint}}]}))


def module_args(endpoint, config, **kw):
    out = {"config": config, "endpoint_url": endpoint}
    out.update(kw)
    return out


def scale(ng, nodes, lo, hi):
    return ["scale", "nodegroup", "--cluster", NAME, "--region", REGION, "--name", ng, f"--nodes={nodes}",
            f"--nodes-min={lo}", f"--nodes-max={hi}", "--wait", "--timeout=2400s"]


def test_missing_cluster_check_mode_then_create(moto_reset, standin, tmp_path):
    env, calls = standin
    config = cluster_config()
    kube = tmp_path / "home" / ".kube" / "config"
    planned = run_module("tidepool.eks.eksctl_cluster",
                         module_args(moto_reset, config, kubeconfig="$HOME/.kube/config"),
                         check=True, diff=True, env=dict(env, HOME=str(tmp_path / "home")))
    assert planned["changed"] is True, planned
    expected = ["create", "cluster", "-f", CFG, "--kubeconfig", str(kube), "--timeout=2400s"]
    assert [normalise(c[1:]) for c in planned["commands"]] == [expected]
    assert planned["cluster"]["status"] == "absent"
    assert planned["diff"]["before"] == {} and planned["diff"]["after"]["metadata"]["version"] == "1.34"
    assert calls() == []  # check mode ran nothing

    log = tmp_path / "logs" / "eksctl.log"
    done = run_module("tidepool.eks.eksctl_cluster", module_args(moto_reset, config, kubeconfig="~/.kube/config",
                                                                  log_file=str(log)),
                      env=dict(env, HOME=str(tmp_path / "home")))
    assert done["changed"] is True, done
    recorded = calls()
    assert [normalise(c["argv"]) for c in recorded] == [expected]
    assert recorded[0]["config"] == config  # the ClusterConfig eksctl got, unchanged
    assert recorded[0]["endpoint"] == moto_reset and recorded[0]["region"] == REGION
    lines = log.read_text().splitlines()  # eksctl's output, line by line, as it ran
    assert lines[0].endswith(" ".join(done["commands"][0])) and lines[1].endswith("stand-in eksctl create cluster")


def test_up_to_date_cluster_runs_nothing(moto_reset, standin, tmp_path):
    env, calls = standin
    cluster = build_cluster(moto_reset)
    kubeconfig_for(tmp_path / "kubeconfig", cluster["endpoint"])
    result = run_module("tidepool.eks.eksctl_cluster",
                        module_args(moto_reset, cluster_config(), kubeconfig=str(tmp_path / "kubeconfig")), env=env)
    assert result["changed"] is False and result["commands"] == [], result
    assert result["cluster"]["name"] == NAME and result["cluster"]["version"] == "1.34"
    assert result["cluster"]["endpoint"] == cluster["endpoint"] and result["cluster"]["oidc_issuer"].startswith("https://")
    assert calls() == []


def test_nodegroup_added_scaled_and_removed(moto_reset, standin, tmp_path):
    env, calls = standin
    build_cluster(moto_reset, nodegroups={"ng": (1, 10, 4), "old": (1, 3, 2)})
    config = cluster_config(nodegroups={"ng": (2, 12, 5), "ng2": (1, 4, 2)})

    kept = run_module("tidepool.eks.eksctl_cluster", module_args(moto_reset, config), env=env)
    assert [normalise(c["argv"]) for c in calls()] == [
        ["create", "nodegroup", "-f", CFG, "--include", "ng2", "--timeout=2400s"],
        scale("ng", 5, 2, 12),
    ]
    assert any("old" in w and "prune_nodegroups" in w for w in kept.get("warnings", [])), kept

    pruned = run_module("tidepool.eks.eksctl_cluster", module_args(moto_reset, config, prune_nodegroups=True),
                        check=True, env=env)
    assert [normalise(c[1:]) for c in pruned["commands"]][-1] == [
        "delete", "nodegroup", "--cluster", NAME, "--region", REGION, "--name", "old", "--drain=true", "--wait",
        "--timeout=2400s"]
    assert len(calls()) == 2  # check mode ran nothing more


def test_version_bump_one_minor_at_a_time(moto_reset, standin):
    env, calls = standin
    build_cluster(moto_reset, version="1.32")
    result = run_module("tidepool.eks.eksctl_cluster", module_args(moto_reset, cluster_config(version="1.34")), env=env)
    assert result["changed"] is True
    upgrade = ["--region", REGION]
    assert [c["argv"] for c in calls()] == [
        ["upgrade", "cluster", "--name", NAME, *upgrade, "--version", "1.33", "--approve", "--timeout=2400s"],
        ["upgrade", "cluster", "--name", NAME, *upgrade, "--version", "1.34", "--approve", "--timeout=2400s"],
        ["utils", "update-kube-proxy", "--cluster", NAME, *upgrade, "--approve"],
        ["utils", "update-aws-node", "--cluster", NAME, *upgrade, "--approve"],
        ["utils", "update-coredns", "--cluster", NAME, *upgrade, "--approve"],
    ]
    assert any("unmanaged" in w and "ng" in w for w in result.get("warnings", []))


def test_downgrade_refused(moto_reset, standin):
    env, calls = standin
    build_cluster(moto_reset, version="1.34")
    result = run_module("tidepool.eks.eksctl_cluster", module_args(moto_reset, cluster_config(version="1.33")), env=env)
    assert result.get("failed") is True and "downgrade" in result["msg"] and calls() == []


def test_irsa_missing_created_changed_updated(moto_reset, standin):
    env, calls = standin
    build_cluster(moto_reset)
    changed_policy = copy.deepcopy(SA)
    changed_policy["attachPolicy"]["Statement"][0]["Action"] = ["route53:ListHostedZones", "route53:GetChange"]
    new_sa = {"metadata": {"name": "blob", "namespace": "qa1"}, "attachPolicy": SA["attachPolicy"]}
    run_module("tidepool.eks.eksctl_cluster", module_args(moto_reset, cluster_config(sas=[changed_policy, new_sa])),
               env=env)
    assert [normalise(c["argv"]) for c in calls()] == [
        ["create", "iamserviceaccount", "-f", CFG, "--include", "qa1/blob", "--approve", "--timeout=2400s"],
        ["update", "iamserviceaccount", "-f", CFG, "--include", "external-dns/external-dns", "--approve",
         "--timeout=2400s"],
    ]


def test_missing_oidc_provider_associated(moto_reset, standin):
    env, calls = standin
    build_cluster(moto_reset)
    iam = boto3.client("iam", region_name=REGION, endpoint_url=moto_reset)
    for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]:
        iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=p["Arn"])
    result = run_module("tidepool.eks.eksctl_cluster", module_args(moto_reset, cluster_config()), check=True, env=env)
    assert [c[1:] for c in result["commands"]] == [
        ["utils", "associate-iam-oidc-provider", "--cluster", NAME, "--region", REGION, "--approve"]]


def test_absent_deletes_and_second_run_is_unchanged(moto_reset, standin):
    env, calls = standin
    build_cluster(moto_reset)
    result = run_module("tidepool.eks.eksctl_cluster", module_args(moto_reset, cluster_config(), state="absent"),
                        env=env)
    assert [normalise(c["argv"]) for c in calls()] == [["delete", "cluster", "-f", CFG, "--wait", "--timeout=2400s"]]
    assert result["changed"] is True


def test_absent_when_nothing_exists_is_unchanged(moto_reset, standin):
    env, calls = standin
    result = run_module("tidepool.eks.eksctl_cluster", module_args(moto_reset, cluster_config(), state="absent"),
                        env=env)
    assert result["changed"] is False and calls() == []


def test_failing_eksctl_names_the_command(moto_reset, standin):
    env, calls = standin
    result = run_module("tidepool.eks.eksctl_cluster", module_args(moto_reset, cluster_config()),
                        env=dict(env, EKSCTL_STANDIN_RC="1"))
    assert result.get("failed") is True and "eksctl create cluster" in result["msg"] and "exit 1" in result["msg"]
    assert len(calls()) == 1


def test_irsa_scope_on_an_existing_eks_cluster(moto_reset, standin):
    """cluster_provider existing on EKS: only the OIDC provider and the IRSA service accounts, never node groups or
    the version (the cluster here runs 1.32 with no eksctl node group stacks)."""
    env, calls = standin
    build_cluster(moto_reset, version="1.32", nodegroups={}, sas=[])
    iam = boto3.client("iam", region_name=REGION, endpoint_url=moto_reset)
    for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]:
        iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=p["Arn"])
    result = run_module("tidepool.eks.eksctl_cluster", module_args(moto_reset, cluster_config(), scope="irsa"),
                        diff=True, env=env)
    assert result["changed"] is True, result
    assert [normalise(c["argv"]) for c in calls()] == [
        ["utils", "associate-iam-oidc-provider", "--cluster", NAME, "--region", REGION, "--approve"],
        ["create", "iamserviceaccount", "-f", CFG, "--include", "external-dns/external-dns",
         "--override-existing-serviceaccounts", "--approve", "--timeout=2400s"],
    ]
    assert set(result["diff"]["after"]) == {"iam"}


def test_irsa_scope_needs_the_cluster(moto_reset, standin):
    env, calls = standin
    result = run_module("tidepool.eks.eksctl_cluster", module_args(moto_reset, cluster_config(), scope="irsa"), env=env)
    assert result.get("failed") is True and "does not exist" in result["msg"] and calls() == []
