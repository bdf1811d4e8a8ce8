"""The peering step as the operator runs it (`ansible-playbook playbooks/peering.yml -l test1`, docs/peering.md) with
one entry in environments.qa2.peering of test1's values file, against moto: the cluster VPC (tagged like eksctl) and
the environment's Mongo VPC exist in moto first. test_vpc_peering.py covers the module itself."""
from __future__ import annotations

import boto3
import pytest
import yaml

from tests.support.helpers import MOTO_ACCOUNT, REPO, recap, run_playbook

pytestmark = pytest.mark.integration

REGION = "us-west-2"  # test1's cluster.metadata.region
CLUSTER = "test1"


def live(cli):
    return [c for c in cli.describe_vpc_peering_connections()["VpcPeeringConnections"]
            if c["Status"]["Code"] not in ("deleted", "rejected", "failed", "expired")]


def peer_routes(cli, vpc_id, cidr):
    """{route table id: the peering connection a route to ``cidr`` goes through} of the VPC's tables."""
    tables = cli.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["RouteTables"]
    return {t["RouteTableId"]: next((r.get("VpcPeeringConnectionId") for r in t["Routes"]
                                     if r.get("DestinationCidrBlock") == cidr), None) for t in tables}


@pytest.fixture
def setup(moto_reset, tmp_path):
    cli = boto3.client("ec2", region_name=REGION, endpoint_url=moto_reset)
    vpc = cli.create_vpc(CidrBlock="10.47.0.0/16", TagSpecifications=[{"ResourceType": "vpc", "Tags": [
        {"Key": "alpha.eksctl.io/cluster-name", "Value": CLUSTER}]}])["Vpc"]["VpcId"]
    cli.create_route_table(VpcId=vpc)  # a second table of the cluster VPC (eksctl makes one per subnet kind)
    mongo = cli.create_vpc(CidrBlock="10.48.0.0/16")["Vpc"]["VpcId"]
    values = yaml.safe_load((REPO / "inventories" / "values" / "test1.yml").read_text())
    values["aws"]["accountNumber"] = MOTO_ACCOUNT
    values["environments"]["qa2"]["peering"] = [{"peer_vpc_id": mongo, "allow_dns_resolution": True}]
    values_file = tmp_path / "test1.yml"
    values_file.write_text(yaml.safe_dump(values))
    extra = {"inventory_values_file": str(values_file), "aws_endpoint_url": moto_reset,
             "aws_credentials_required": True, "kubeconfig": str(tmp_path / "no-kubeconfig")}
    return cli, vpc, mongo, extra


def test_environment_peering_check_apply_unchanged(setup):
    cli, vpc, mongo, extra = setup

    checked = run_playbook("playbooks/peering.yml", limit=CLUSTER, check=True, extra_vars=extra, timeout=300)
    assert checked.returncode == 0, checked.stdout[-6000:] + checked.stderr[-3000:]
    assert recap(checked.stdout)[CLUSTER]["changed"] == 1, checked.stdout[-4000:]
    assert live(cli) == []  # check mode requested nothing
    assert set(peer_routes(cli, vpc, "10.48.0.0/16").values()) == {None}

    applied = run_playbook("playbooks/peering.yml", limit=CLUSTER, extra_vars=extra, timeout=300)
    assert applied.returncode == 0, applied.stdout[-6000:] + applied.stderr[-3000:]
    assert recap(applied.stdout)[CLUSTER]["changed"] == 1, applied.stdout[-4000:]
    (pcx,) = live(cli)
    assert pcx["Status"]["Code"] == "active", pcx
    assert (pcx["RequesterVpcInfo"]["VpcId"], pcx["AccepterVpcInfo"]["VpcId"]) == (vpc, mongo)
    assert pcx["RequesterVpcInfo"]["PeeringOptions"]["AllowDnsResolutionFromRemoteVpc"] is True
    assert {t["Key"]: t["Value"] for t in pcx.get("Tags", [])} == {
        "Name": f"{CLUSTER}-{mongo}", "tidepool.eks/cluster": CLUSTER}
    routes = peer_routes(cli, vpc, "10.48.0.0/16")
    assert len(routes) == 2 and set(routes.values()) == {pcx["VpcPeeringConnectionId"]}, routes

    again = run_playbook("playbooks/peering.yml", limit=CLUSTER, extra_vars=extra, timeout=300)
    assert again.returncode == 0, again.stdout[-6000:] + again.stderr[-3000:]
    assert recap(again.stdout)[CLUSTER]["changed"] == 0, again.stdout[-4000:]
    assert [c["VpcPeeringConnectionId"] for c in live(cli)] == [pcx["VpcPeeringConnectionId"]]
    assert peer_routes(cli, vpc, "10.48.0.0/16") == routes
