"""tidepool.eks.vpc_peering against the moto server: VPCs, route tables and peering connections built with boto3."""
from __future__ import annotations

import boto3
import pytest

from tests.support.adhoc import run_module
from ansible_collections.tidepool.eks.plugins.module_utils.aws import connection as aws
from ansible_collections.tidepool.eks.plugins.module_utils.aws import vpc_peering as core

pytestmark = pytest.mark.integration

REGION = "us-west-2"
PEER_REGION = "us-east-1"
CLUSTER = "peertest"


def ec2(endpoint, region=REGION):
    return boto3.client("ec2", region_name=region, endpoint_url=endpoint)


def make_vpc(cli, cidr, cluster=None):
    tags = [{"ResourceType": "vpc", "Tags": [{"Key": "alpha.eksctl.io/cluster-name", "Value": cluster}]}] if cluster else []
    return cli.create_vpc(CidrBlock=cidr, TagSpecifications=tags)["Vpc"]["VpcId"]


def routes(cli, vpc_id):
    """{route table id: sorted [(destination, target)]} of a VPC."""
    out = {}
    for table in cli.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["RouteTables"]:
        out[table["RouteTableId"]] = sorted(
            (r["DestinationCidrBlock"], r.get("VpcPeeringConnectionId") or r.get("GatewayId"))
            for r in table["Routes"] if r.get("DestinationCidrBlock"))
    return out


def live_connections(cli):
    return [c for c in cli.describe_vpc_peering_connections()["VpcPeeringConnections"]
            if c["Status"]["Code"] in core.LIVE_STATUSES]


@pytest.fixture
def vpcs(moto_reset):
    """Cluster VPC (tagged like eksctl) with its main table plus a second table holding an internet route and
    a route to an unrelated VPC; a same-region peer VPC (the Tidepool Mongo VPC)."""
    cli = ec2(moto_reset)
    vpc = make_vpc(cli, "10.47.0.0/16", CLUSTER)
    peer = make_vpc(cli, "10.1.0.0/16")
    other = make_vpc(cli, "10.200.0.0/16")
    igw = cli.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    cli.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    extra = cli.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    cli.create_route(RouteTableId=extra, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    pcx_other = cli.create_vpc_peering_connection(VpcId=vpc, PeerVpcId=other)["VpcPeeringConnection"]
    cli.accept_vpc_peering_connection(VpcPeeringConnectionId=pcx_other["VpcPeeringConnectionId"])
    cli.create_route(RouteTableId=extra, DestinationCidrBlock="10.200.0.0/16",
                     VpcPeeringConnectionId=pcx_other["VpcPeeringConnectionId"])
    return {"endpoint": moto_reset, "ec2": cli, "vpc": vpc, "peer": peer, "extra_table": extra, "igw": igw,
            "other_pcx": pcx_other["VpcPeeringConnectionId"]}


def args(v, **kw):
    out = {"cluster": CLUSTER, "peer_vpc_id": v["peer"], "region": REGION, "endpoint_url": v["endpoint"]}
    out.update(kw)
    return out


def test_present_check_apply_idempotent_absent(vpcs):
    cli = vpcs["ec2"]
    before = routes(cli, vpcs["vpc"])
    peer_before = routes(cli, vpcs["peer"])

    planned = run_module("tidepool.eks.vpc_peering", args(vpcs, allow_dns_resolution=True), check=True, diff=True)
    assert planned["changed"] is True, planned
    assert [a["action"] for a in planned["actions"]][:2] == ["request", "accept"]
    assert {(r["route_table_id"], r["destination_cidr_block"]) for r in planned["routes_added"]} == \
        {(t, "10.1.0.0/16") for t in before}
    assert planned["diff"]["before"]["status"] == "absent" and planned["diff"]["after"]["status"] == "active"
    assert live_connections(cli) == [c for c in live_connections(cli) if c["VpcPeeringConnectionId"] == vpcs["other_pcx"]]
    assert routes(cli, vpcs["vpc"]) == before  # check mode changed nothing

    done = run_module("tidepool.eks.vpc_peering", args(vpcs, allow_dns_resolution=True,
                                                        peer_route_table_ids=list(peer_before)))
    assert done["changed"] is True and done["status"] == "active", done
    pcx = done["peering_id"]
    conn = cli.describe_vpc_peering_connections(VpcPeeringConnectionIds=[pcx])["VpcPeeringConnections"][0]
    assert conn["Status"]["Code"] == "active"
    assert conn["RequesterVpcInfo"]["PeeringOptions"]["AllowDnsResolutionFromRemoteVpc"] is True
    assert conn["AccepterVpcInfo"]["PeeringOptions"]["AllowDnsResolutionFromRemoteVpc"] is True
    after = routes(cli, vpcs["vpc"])
    for table, rows in before.items():  # every existing route is still there, plus one to the peer
        assert sorted(rows + [("10.1.0.0/16", pcx)]) == after[table]
    assert all(("10.47.0.0/16", pcx) in rows for rows in routes(cli, vpcs["peer"]).values())

    again = run_module("tidepool.eks.vpc_peering", args(vpcs, allow_dns_resolution=True,
                                                         peer_route_table_ids=list(peer_before)))
    assert again["changed"] is False and again["peering_id"] == pcx and again["actions"] == [], again

    gone_check = run_module("tidepool.eks.vpc_peering", args(vpcs, state="absent"), check=True)
    assert gone_check["changed"] is True and routes(cli, vpcs["vpc"]) == after
    gone = run_module("tidepool.eks.vpc_peering", args(vpcs, state="absent"))
    assert gone["changed"] is True and gone["status"] == "deleted", gone
    assert routes(cli, vpcs["vpc"]) == before  # its routes removed, the others kept
    assert routes(cli, vpcs["peer"]) == peer_before
    assert [c["VpcPeeringConnectionId"] for c in live_connections(cli)] == [vpcs["other_pcx"]]
    assert run_module("tidepool.eks.vpc_peering", args(vpcs, state="absent"))["changed"] is False


def test_overlapping_cidrs_refused(vpcs):
    cli = vpcs["ec2"]
    clash = make_vpc(cli, "10.47.128.0/20")
    result = run_module("tidepool.eks.vpc_peering", args(vpcs, peer_vpc_id=clash))
    assert result.get("failed") is True
    assert "10.47.0.0/16" in result["msg"] and "10.47.128.0/20" in result["msg"] and "overlap" in result["msg"]
    assert [c["VpcPeeringConnectionId"] for c in live_connections(cli)] == [vpcs["other_pcx"]]


def test_conflicting_route_refused_before_any_change(vpcs):
    cli = vpcs["ec2"]
    cli.create_route(RouteTableId=vpcs["extra_table"], DestinationCidrBlock="10.1.0.0/16", GatewayId=vpcs["igw"])
    before = routes(cli, vpcs["vpc"])
    result = run_module("tidepool.eks.vpc_peering", args(vpcs))
    assert result.get("failed") is True and vpcs["extra_table"] in result["msg"] and "10.1.0.0/16" in result["msg"]
    assert routes(cli, vpcs["vpc"]) == before
    assert [c["VpcPeeringConnectionId"] for c in live_connections(cli)] == [vpcs["other_pcx"]]


def test_only_chosen_route_tables(vpcs):
    cli = vpcs["ec2"]
    main = next(t for t in routes(cli, vpcs["vpc"]) if t != vpcs["extra_table"])
    done = run_module("tidepool.eks.vpc_peering", args(vpcs, route_table_ids=[main]))
    assert [(r["route_table_id"], r["destination_cidr_block"]) for r in done["routes_added"]] == [(main, "10.1.0.0/16")]
    assert all(dest != "10.1.0.0/16" for dest, _ in routes(cli, vpcs["vpc"])[vpcs["extra_table"]])


def test_cross_region_request_accepted_in_peer_region(moto_reset):
    cli, peer_cli = ec2(moto_reset), ec2(moto_reset, PEER_REGION)
    vpc = make_vpc(cli, "10.47.0.0/16", CLUSTER)
    peer = make_vpc(peer_cli, "192.168.0.0/16")
    params = {"cluster": CLUSTER, "vpc_id": None, "cluster_vpc_id": None, "peer_vpc_id": peer, "peer_region": PEER_REGION, "state": "present",
              "peer_owner_id": None, "route_table_ids": None, "peer_route_table_ids": None, "peer_cidr_blocks": None,
              "allow_dns_resolution": None}
    conn = aws.resolve_connection({"endpoint_url": moto_reset, "region": REGION})
    req = aws.client("ec2", conn=conn)
    acc = aws.client("ec2", conn=dict(conn, region=PEER_REGION))
    plan = core.build_plan(params, req, acc, account_id="123456789012")
    assert plan.vpc_id == vpc and [a["action"] for a in plan.actions][:2] == ["request", "accept"]
    result = core.apply_plan(plan, req, acc, sleep=lambda _s: None)
    assert result["status"] == "active"
    seen = peer_cli.describe_vpc_peering_connections(VpcPeeringConnectionIds=[result["peering_id"]])
    info = seen["VpcPeeringConnections"][0]
    assert info["Status"]["Code"] == "active" and info["AccepterVpcInfo"]["Region"] == PEER_REGION
    assert core.build_plan(params, req, acc, account_id="123456789012").actions == []


def test_cluster_without_tagged_vpc_is_a_clear_error(moto_reset):
    result = run_module("tidepool.eks.vpc_peering", {"cluster": "nope", "peer_vpc_id": "vpc-123", "region": REGION,
                                                     "endpoint_url": moto_reset})
    assert result.get("failed") is True and "nope" in result["msg"] and "vpc_id" in result["msg"]


def test_wait_times_out_with_a_clear_message():
    class Fake:
        def describe_vpc_peering_connections(self, **_kw):
            return {"VpcPeeringConnections": [{"Status": {"Code": "pending-acceptance"}}]}
    ticks = iter(range(0, 1000, 5))
    with pytest.raises(core.PeeringError, match=r"Timed out after 30 s .*pcx-1.*pending-acceptance"):
        core.wait_status(Fake(), "pcx-1", ("active",), 30, sleep=lambda _s: None, clock=lambda: next(ticks))


def _state(cli):
    """Every live connection and every route of every VPC: what a refused call must leave as it was."""
    vpcs = [v["VpcId"] for v in cli.describe_vpcs()["Vpcs"]]
    return sorted(c["VpcPeeringConnectionId"] for c in live_connections(cli)), {v: routes(cli, v) for v in vpcs}


def test_a_vpc_of_another_cluster_is_refused_and_left_as_it_was(vpcs):
    """vpc_id names a VPC tagged for another cluster: present and absent are both refused before any change,
    naming the VPC and its tags (the connection between that VPC and the peer stays)."""
    cli = vpcs["ec2"]
    theirs = make_vpc(cli, "10.48.0.0/16", "prod")
    pcx = cli.create_vpc_peering_connection(VpcId=theirs, PeerVpcId=vpcs["peer"])["VpcPeeringConnection"]
    cli.accept_vpc_peering_connection(VpcPeeringConnectionId=pcx["VpcPeeringConnectionId"])
    table = routes(cli, theirs)
    cli.create_route(RouteTableId=next(iter(table)), DestinationCidrBlock="10.1.0.0/16",
                     VpcPeeringConnectionId=pcx["VpcPeeringConnectionId"])
    before = _state(cli)
    for state in ("absent", "present"):
        for check in (True, False):
            result = run_module("tidepool.eks.vpc_peering", args(vpcs, vpc_id=theirs, state=state), check=check)
            assert result.get("failed") is True, result
            assert f"VPC {theirs} does not belong to cluster {CLUSTER}" in result["msg"], result["msg"]
            assert "alpha.eksctl.io/cluster-name=prod" in result["msg"] and "nothing was changed" in result["msg"]
            assert _state(cli) == before


def test_an_untagged_vpc_is_refused_unless_the_inventory_names_it(vpcs):
    """A VPC eksctl did not create: refused by vpc_id alone; accepted as cluster_vpc_id (the inventory's
    cluster.vpc.id) or once tagged tidepool.org/cluster=<cluster>."""
    cli = vpcs["ec2"]
    own = make_vpc(cli, "10.49.0.0/16")
    before = _state(cli)
    refused = run_module("tidepool.eks.vpc_peering", args(vpcs, vpc_id=own))
    assert refused.get("failed") is True and f"VPC {own}" in refused["msg"] and "its tags: none" in refused["msg"]
    assert _state(cli) == before
    planned = run_module("tidepool.eks.vpc_peering", args(vpcs, cluster_vpc_id=own), check=True)
    assert planned["changed"] is True and planned["vpc_id"] == own, planned
    cli.create_tags(Resources=[own], Tags=[{"Key": "tidepool.org/cluster", "Value": CLUSTER}])
    done = run_module("tidepool.eks.vpc_peering", args(vpcs, vpc_id=own))
    assert done["changed"] is True and done["vpc_id"] == own and done["status"] == "active", done


def test_vpc_id_of_the_cluster_itself_is_accepted(vpcs):
    planned = run_module("tidepool.eks.vpc_peering", args(vpcs, vpc_id=vpcs["vpc"]), check=True)
    assert planned["changed"] is True and planned["vpc_id"] == vpcs["vpc"], planned
