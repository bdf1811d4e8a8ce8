# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""VPC peering from a cluster's VPC to a peer VPC (the install guide's peering appendix).

Plain Python on boto3 EC2 clients (built by :mod:`aws`), no AnsibleModule: :func:`build_plan` reads the
current state and returns a :class:`Plan` (what would change, as data); :func:`apply_plan` carries it out.
The module ``tidepool.eks.vpc_peering`` is a thin shell around both.

Conventions:

* The cluster's VPC is found by eksctl's tag ``alpha.eksctl.io/cluster-name=<cluster>`` (older eksctl
  releases: ``eksctl.cluster.k8s.io/v1alpha1/cluster-name``), as eksctl tags the VPC of its cluster stack.
* Nothing is changed in a VPC that is not the cluster's (:func:`check_cluster_vpc`, ``state: absent`` included).
* A connection is "ours" when it joins the two VPCs and is not in a final state (``deleted``,
  ``rejected``, ``failed``, ``expired``); it is reused, never duplicated.
* Routes are added, never replaced: a route table that already sends a peer CIDR elsewhere is an error
  naming the table, found before anything changes. ``absent`` removes only routes whose target is the
  connection itself (those this module adds), then the connection. amazon.aws's route table module
  purges routes it was not told about; this one never does.
* Overlapping CIDRs cannot be peered (AWS refuses them late, with a generic error): refused up front,
  naming both CIDRs.
"""
from __future__ import annotations

import ipaddress
import time

from ansible_collections.tidepool.eks.plugins.module_utils.aws import connection as aws
from ansible_collections.tidepool.eks.plugins.module_utils.common.errors import TidepoolError
from ansible_collections.tidepool.eks.plugins.module_utils.common.plan import Plan as PlanBase

CLUSTER_TAGS = ("alpha.eksctl.io/cluster-name", "eksctl.cluster.k8s.io/v1alpha1/cluster-name")
#: Tags that make a VPC the cluster's (value: its name): eksctl's, or the collection's for another VPC.
OWNER_TAGS = CLUSTER_TAGS + ("tidepool.org/cluster",)
LIVE_STATUSES = ("initiating-request", "pending-acceptance", "provisioning", "active")
DEFAULT_WAIT_TIMEOUT = 300  # seconds
POLL_INTERVAL = 5  # seconds
ROUTE_TARGETS = ("VpcPeeringConnectionId", "GatewayId", "NatGatewayId", "TransitGatewayId", "NetworkInterfaceId",
                 "InstanceId")


class PeeringError(TidepoolError):
    """A failure already phrased as one sentence naming the input at fault."""


# ---------------------------------------------------------------------------------------------
# Reading state
# ---------------------------------------------------------------------------------------------

def find_cluster_vpc(ec2, cluster: str) -> str:
    """VPC id of eksctl cluster ``cluster`` (by eksctl's tags). Raises PeeringError when none or several."""
    found = []
    for tag in CLUSTER_TAGS:
        vpcs = aws.call(ec2, "describe_vpcs", cluster, Filters=[{"Name": f"tag:{tag}", "Values": [cluster]}])["Vpcs"]
        found += [v["VpcId"] for v in vpcs if v["VpcId"] not in found]
    if not found:
        raise PeeringError(f"No VPC is tagged for cluster {cluster!r} ({CLUSTER_TAGS[0]}={cluster}); give vpc_id, "
                           "or check the cluster name and the region.")
    if len(found) > 1:
        raise PeeringError(f"Several VPCs are tagged for cluster {cluster!r} ({', '.join(found)}); give vpc_id.")
    return found[0]


def check_cluster_vpc(vpc: dict, cluster: str | None, cluster_vpc_id: str | None = None) -> None:
    """PeeringError naming the VPC and its tags unless ``vpc`` (a DescribeVpcs entry) carries one of :data:`OWNER_TAGS`
    with the value ``cluster`` or is ``cluster_vpc_id`` (what the inventory names as the cluster's VPC)."""
    vpc_id = vpc["VpcId"]
    tags = {t["Key"]: t.get("Value", "") for t in vpc.get("Tags") or []}
    if (cluster_vpc_id and vpc_id == cluster_vpc_id) or (cluster and any(tags.get(k) == cluster for k in OWNER_TAGS)):
        return
    shown = ", ".join(f"{k}={v}" for k, v in sorted(tags.items())) or "none"
    raise PeeringError(f"VPC {vpc_id} does not belong to cluster {cluster} (its tags: {shown}); nothing was changed. "
                       f"Check vpc_id: it must be tagged {OWNER_TAGS[0]} or {OWNER_TAGS[-1]}={cluster} or be "
                       "cluster.vpc.id.")


def describe_vpc(ec2, vpc_id: str, what: str) -> dict:
    try:
        vpcs = aws.call(ec2, "describe_vpcs", vpc_id, VpcIds=[vpc_id])["Vpcs"]
    except aws.AwsError as exc:
        if exc.code in ("InvalidVpcID.NotFound", "InvalidVpcID.Malformed"):
            raise PeeringError(f"{what} {vpc_id} does not exist in this account and region ({exc.code}).") from None
        raise
    if not vpcs:
        raise PeeringError(f"{what} {vpc_id} does not exist in this account and region.")
    return vpcs[0]


def vpc_cidrs(vpc: dict) -> list[str]:
    """Every associated IPv4 CIDR of a VPC (primary first)."""
    out = [vpc["CidrBlock"]] if vpc.get("CidrBlock") else []
    for assoc in vpc.get("CidrBlockAssociationSet") or []:
        state = (assoc.get("CidrBlockState") or {}).get("State", "associated")
        if state == "associated" and assoc.get("CidrBlock") and assoc["CidrBlock"] not in out:
            out.append(assoc["CidrBlock"])
    return out


def info_cidrs(info: dict) -> list[str]:
    """CIDRs of one side of a peering connection (``RequesterVpcInfo``/``AccepterVpcInfo``)."""
    out = [c["CidrBlock"] for c in info.get("CidrBlockSet") or [] if c.get("CidrBlock")]
    if info.get("CidrBlock") and info["CidrBlock"] not in out:
        out.insert(0, info["CidrBlock"])
    return out


def overlaps(ours: list[str], theirs: list[str]) -> list[tuple[str, str]]:
    """Pairs of overlapping CIDRs. Raises PeeringError for a malformed CIDR."""
    out = []
    for a in ours:
        for b in theirs:
            try:
                if ipaddress.ip_network(a, strict=False).overlaps(ipaddress.ip_network(b, strict=False)):
                    out.append((a, b))
            except ValueError as exc:
                raise PeeringError(f"Invalid CIDR: {exc}.") from None
    return out


def find_connection(ec2, vpc_id: str, peer_vpc_id: str) -> dict | None:
    """The live connection requested from ``vpc_id`` to ``peer_vpc_id`` (or the other way round), if any."""
    for requester, accepter in ((vpc_id, peer_vpc_id), (peer_vpc_id, vpc_id)):
        conns = aws.call(ec2, "describe_vpc_peering_connections", vpc_id, Filters=[
            {"Name": "requester-vpc-info.vpc-id", "Values": [requester]},
            {"Name": "accepter-vpc-info.vpc-id", "Values": [accepter]},
        ])["VpcPeeringConnections"]
        live = [c for c in conns if c["Status"]["Code"] in LIVE_STATUSES
                and c["RequesterVpcInfo"].get("VpcId") == requester and c["AccepterVpcInfo"].get("VpcId") == accepter]
        if live:
            return live[0]
    return None


def route_tables(ec2, vpc_id: str, ids: list[str] | None = None) -> list[dict]:
    """Route tables of ``vpc_id`` (all, or ``ids``; each id must belong to the VPC)."""
    tables = aws.call(ec2, "describe_route_tables", vpc_id,
                      Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["RouteTables"]
    if ids is None:
        return sorted(tables, key=lambda t: t["RouteTableId"])
    by_id = {t["RouteTableId"]: t for t in tables}
    missing = [i for i in ids if i not in by_id]
    if missing:
        raise PeeringError(f"Route table(s) {', '.join(missing)} are not route tables of VPC {vpc_id}; "
                           "check route_table_ids / peer_route_table_ids.")
    return [by_id[i] for i in ids]


# ---------------------------------------------------------------------------------------------
# Planning
# ---------------------------------------------------------------------------------------------

class Plan(PlanBase):
    """What :func:`apply_plan` will do. ``actions`` is a list of dicts with key ``action``:
    ``request``, ``accept``, ``route`` (route_table_id, destination_cidr_block, side), ``dns`` (side,
    allow), ``remove_route``, ``delete``."""

    def __init__(self, params: dict):
        self.params = params
        self.state = params["state"]
        self.vpc_id = None
        self.peer_vpc_id = params["peer_vpc_id"]
        self.connection = None
        self.can_accept = False
        self.actions: list[dict] = []
        self.warnings: list[str] = []
        self.before: dict = {}
        self.after: dict = {}

    @property
    def changed(self) -> bool:
        return bool(self.actions)

    @property
    def peering_id(self):
        return (self.connection or {}).get("VpcPeeringConnectionId")

    def routes(self, kind: str) -> list[dict]:
        return [{k: a[k] for k in ("route_table_id", "destination_cidr_block", "side")}
                for a in self.actions if a["action"] == kind]

    def result(self, **extra) -> dict:
        status = (self.connection or {}).get("Status", {}).get("Code")
        out = {"changed": self.changed, "peering_id": self.peering_id, "vpc_id": self.vpc_id,
               "peer_vpc_id": self.peer_vpc_id, "status": status,
               "routes_added": self.routes("route"), "routes_removed": self.routes("remove_route"),
               "actions": [dict(a) for a in self.actions]}
        out.update(extra)
        return out

    def diff(self) -> dict:
        return {"before": self.before, "after": self.after}


def _routes_via(tables: list[dict], pcx_id: str) -> list[dict]:
    out = []
    for table in tables:
        for route in table.get("Routes") or []:
            if route.get("VpcPeeringConnectionId") == pcx_id and route.get("DestinationCidrBlock"):
                out.append({"route_table_id": table["RouteTableId"],
                            "destination_cidr_block": route["DestinationCidrBlock"]})
    return out


def _route_actions(tables: list[dict], cidrs: list[str], pcx_id: str | None, side: str) -> list[dict]:
    """Routes to add so that each table sends each CIDR through the connection; error on a conflicting route."""
    out = []
    for table in tables:
        existing = {r.get("DestinationCidrBlock"): r for r in table.get("Routes") or [] if r.get("DestinationCidrBlock")}
        for cidr in cidrs:
            route = existing.get(cidr)
            if route is None:
                out.append({"action": "route", "side": side, "route_table_id": table["RouteTableId"],
                            "destination_cidr_block": cidr})
                continue
            if pcx_id and route.get("VpcPeeringConnectionId") == pcx_id:
                continue
            target = next((route[k] for k in ROUTE_TARGETS if route.get(k)), "another target")
            raise PeeringError(f"Route table {table['RouteTableId']} already routes {cidr} to {target}; this module "
                               "never replaces a route it did not create: remove that route or leave the table out "
                               f"of {'route_table_ids' if side == 'requester' else 'peer_route_table_ids'}.")
    return out


def _dns_state(conn: dict | None) -> dict:
    if not conn:
        return {}
    return {side: bool(((conn.get(key) or {}).get("PeeringOptions") or {}).get("AllowDnsResolutionFromRemoteVpc"))
            for side, key in (("requester", "RequesterVpcInfo"), ("accepter", "AccepterVpcInfo"))}


def _summary(conn, routes, dns) -> dict:
    return {"peering_id": (conn or {}).get("VpcPeeringConnectionId"),
            "status": (conn or {}).get("Status", {}).get("Code", "absent"),
            "routes": sorted(routes, key=lambda r: (r["side"], r["route_table_id"], r["destination_cidr_block"])),
            "allow_dns_resolution": dns}


def build_plan(params: dict, ec2, peer_ec2, account_id: str | None = None, accepter_given: bool = False) -> Plan:
    """Read the state through ``ec2`` (cluster side) and ``peer_ec2`` (peer region / accepter credentials).

    ``params``: vpc_id, cluster, cluster_vpc_id, peer_vpc_id, peer_region, peer_owner_id, route_table_ids,
    peer_route_table_ids, peer_cidr_blocks, allow_dns_resolution, state. The requester VPC is ``vpc_id``, else
    ``cluster_vpc_id``, else the VPC tagged for ``cluster``; it must be the cluster's (:func:`check_cluster_vpc`).
    ``account_id`` is the caller's account (STS); ``accepter_given`` whether a separate accepter credential set was
    given. Raises PeeringError / aws.AwsError before anything changes.
    """
    plan = Plan(params)
    plan.vpc_id = params.get("vpc_id") or params.get("cluster_vpc_id") or find_cluster_vpc(ec2, params["cluster"])
    vpc = describe_vpc(ec2, plan.vpc_id, "VPC")
    check_cluster_vpc(vpc, params.get("cluster"), params.get("cluster_vpc_id"))
    ours = vpc_cidrs(vpc)
    conn = find_connection(ec2, plan.vpc_id, plan.peer_vpc_id)
    plan.connection = conn
    pcx = conn["VpcPeeringConnectionId"] if conn else None
    same_account = not params.get("peer_owner_id") or params["peer_owner_id"] == account_id
    plan.can_accept = accepter_given or same_account

    peer_vpc = None
    if plan.can_accept:
        peer_vpc = describe_vpc(peer_ec2, plan.peer_vpc_id, "Peer VPC")
    theirs = list(params.get("peer_cidr_blocks") or [])
    if not theirs and peer_vpc:
        theirs = vpc_cidrs(peer_vpc)
    if not theirs and conn:
        side = "AccepterVpcInfo" if conn["RequesterVpcInfo"]["VpcId"] == plan.vpc_id else "RequesterVpcInfo"
        theirs = info_cidrs(conn.get(side) or {})

    req_tables = route_tables(ec2, plan.vpc_id, params.get("route_table_ids"))
    peer_ids = params.get("peer_route_table_ids")
    if peer_ids and not plan.can_accept:
        raise PeeringError("peer_route_table_ids needs access to the peer account: give the accepter credentials "
                           "(accepter_profile or accepter_aws_access_key_id/accepter_aws_secret_access_key).")
    peer_tables = route_tables(peer_ec2, plan.peer_vpc_id, peer_ids) if peer_ids else []

    current_routes = []
    if pcx:
        current_routes = [dict(r, side="requester") for r in _routes_via(req_tables, pcx)]
        peer_all = route_tables(peer_ec2, plan.peer_vpc_id) if plan.can_accept else []
        current_routes += [dict(r, side="accepter") for r in _routes_via(peer_all, pcx)]
    plan.before = _summary(conn, current_routes, _dns_state(conn))

    if params["state"] == "absent":
        if conn:
            for r in current_routes:
                plan.actions.append(dict(r, action="remove_route"))
            plan.actions.append({"action": "delete", "peering_id": pcx})
        plan.after = _summary(None, [], {})
        return plan

    if not theirs:
        raise PeeringError(f"The CIDRs of peer VPC {plan.peer_vpc_id} cannot be read with these credentials; give "
                           "peer_cidr_blocks, or the accepter credentials of the peer account.")
    clash = overlaps(ours, theirs)
    if clash:
        raise PeeringError("Cannot peer VPCs with overlapping CIDRs: " + ", ".join(
            f"{a} ({plan.vpc_id}) overlaps {b} ({plan.peer_vpc_id})" for a, b in clash)
            + "; choose a peer VPC (for MongoDB Atlas, a project CIDR) that does not overlap the cluster VPC.")

    status = conn["Status"]["Code"] if conn else None
    if not conn:
        plan.actions.append({"action": "request", "vpc_id": plan.vpc_id, "peer_vpc_id": plan.peer_vpc_id,
                             "peer_region": params.get("peer_region"), "peer_owner_id": params.get("peer_owner_id")})
    if status in (None, "initiating-request", "pending-acceptance"):
        if plan.can_accept:
            plan.actions.append({"action": "accept"})
        else:
            plan.warnings.append(f"The peering connection to {plan.peer_vpc_id} must be accepted by account "
                                 f"{params.get('peer_owner_id')} (or give the accepter credentials).")
    plan.actions += _route_actions(req_tables, theirs, pcx, "requester")
    plan.actions += _route_actions(peer_tables, ours, pcx, "accepter")
    dns = params.get("allow_dns_resolution")
    after_dns = dict(_dns_state(conn) or {"requester": False, "accepter": False})
    if dns is not None:
        sides = ["requester"] + (["accepter"] if plan.can_accept else [])
        for side in sides:
            if after_dns.get(side) != dns:
                plan.actions.append({"action": "dns", "side": side, "allow": dns})
                after_dns[side] = dns
    new_routes = [{k: a[k] for k in ("route_table_id", "destination_cidr_block", "side")}
                  for a in plan.actions if a["action"] == "route"]
    after_status = "active" if plan.can_accept else (status or "pending-acceptance")
    plan.after = _summary(conn or {"VpcPeeringConnectionId": "(new)"}, current_routes + new_routes, after_dns)
    plan.after["status"] = after_status
    return plan


# ---------------------------------------------------------------------------------------------
# Applying
# ---------------------------------------------------------------------------------------------

def wait_status(ec2, pcx: str, wanted: tuple, timeout: float, sleep=time.sleep, clock=time.monotonic) -> dict:
    """Poll the connection until its status is in ``wanted``; PeeringError after ``timeout`` seconds or when
    it reaches a final failed state."""
    deadline = clock() + timeout
    while True:
        conns = aws.call(ec2, "describe_vpc_peering_connections", pcx,
                         VpcPeeringConnectionIds=[pcx])["VpcPeeringConnections"]
        conn = conns[0] if conns else None
        code = conn["Status"]["Code"] if conn else "missing"
        if code in wanted:
            return conn
        if code in ("failed", "rejected", "expired"):
            raise PeeringError(f"Peering connection {pcx} is {code}: {conn['Status'].get('Message', '')}.")
        if clock() >= deadline:
            raise PeeringError(f"Timed out after {int(timeout)} s waiting for peering connection {pcx} to become "
                               f"{' or '.join(wanted)} (it is {code}); raise wait_timeout or check the peer account.")
        sleep(POLL_INTERVAL)


def apply_plan(plan: Plan, ec2, peer_ec2, wait: bool = True, timeout: float = DEFAULT_WAIT_TIMEOUT,
               sleep=time.sleep, tags: dict | None = None) -> dict:
    """Carry out ``plan``; returns the module result. Routes go in after the connection exists."""
    p = plan.params
    pcx = plan.peering_id
    for action in plan.actions:
        kind = action["action"]
        if kind == "request":
            kwargs = {"VpcId": plan.vpc_id, "PeerVpcId": plan.peer_vpc_id}
            if p.get("peer_region"):
                kwargs["PeerRegion"] = p["peer_region"]
            if p.get("peer_owner_id"):
                kwargs["PeerOwnerId"] = p["peer_owner_id"]
            if tags:
                kwargs["TagSpecifications"] = [{"ResourceType": "vpc-peering-connection",
                                                "Tags": [{"Key": k, "Value": str(v)} for k, v in tags.items()]}]
            conn = aws.call(ec2, "create_vpc_peering_connection", plan.peer_vpc_id, **kwargs)["VpcPeeringConnection"]
            pcx = conn["VpcPeeringConnectionId"]
            plan.connection = conn
            action["peering_id"] = pcx
        elif kind == "accept":
            # The accepter sees the request once it has left initiating-request.
            wait_status(peer_ec2, pcx, ("pending-acceptance", "active", "provisioning"), timeout, sleep)
            aws.call(peer_ec2, "accept_vpc_peering_connection", pcx, VpcPeeringConnectionId=pcx)
        elif kind == "route":
            cli = ec2 if action["side"] == "requester" else peer_ec2
            aws.call(cli, "create_route", action["route_table_id"], RouteTableId=action["route_table_id"],
                     DestinationCidrBlock=action["destination_cidr_block"], VpcPeeringConnectionId=pcx)
        elif kind == "dns":
            if wait:
                wait_status(ec2, pcx, ("active",), timeout, sleep)
            key = "RequesterPeeringConnectionOptions" if action["side"] == "requester" else \
                "AccepterPeeringConnectionOptions"
            cli = ec2 if action["side"] == "requester" else peer_ec2
            aws.call(cli, "modify_vpc_peering_connection_options", pcx, VpcPeeringConnectionId=pcx,
                     **{key: {"AllowDnsResolutionFromRemoteVpc": action["allow"]}})
        elif kind == "remove_route":
            cli = ec2 if action["side"] == "requester" else peer_ec2
            aws.call(cli, "delete_route", action["route_table_id"], RouteTableId=action["route_table_id"],
                     DestinationCidrBlock=action["destination_cidr_block"])
        elif kind == "delete":
            aws.call(ec2, "delete_vpc_peering_connection", pcx, VpcPeeringConnectionId=pcx)
    if plan.state == "present" and pcx:
        wanted = ("active",) if plan.can_accept and wait else LIVE_STATUSES
        plan.connection = wait_status(ec2, pcx, wanted, timeout, sleep)
    elif plan.state == "absent" and pcx and wait:
        plan.connection = wait_status(ec2, pcx, ("deleted",), timeout, sleep)
    if plan.state == "present" and plan.after.get("peering_id") == "(new)":
        plan.after["peering_id"] = pcx
    return plan.result()
