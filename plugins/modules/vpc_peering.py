#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
from __future__ import annotations

DOCUMENTATION = r"""
module: vpc_peering
short_description: Peer an EKS cluster's VPC with another VPC and route to it, additively
description:
  - Replaces the VPC-peering appendix of the Tidepool install guide (peering the cluster VPC with the VPC of a
    Tidepool Mongo deployment or a MongoDB Atlas project).
  - Finds the cluster VPC by O(vpc_id), else O(cluster_vpc_id), else by eksctl's tag
    C(alpha.eksctl.io/cluster-name=<cluster>) for O(cluster).
  - Changes nothing in a VPC that is not O(cluster)'s, O(state=absent) included; a VPC is the cluster's when it
    carries the tag C(alpha.eksctl.io/cluster-name), C(eksctl.cluster.k8s.io/v1alpha1/cluster-name) or
    C(tidepool.org/cluster) with the cluster's name, or is O(cluster_vpc_id). Another VPC is refused, naming it
    and its tags, before anything changes.
  - Requests a VPC peering connection to O(peer_vpc_id) (in O(peer_region), owned by O(peer_owner_id)), reusing a
    live connection between the two VPCs. Accepts it when the caller may (the peer is in the same account, or the
    accepter credentials are given) and waits until it is active.
  - Adds a route to each peer CIDR through the connection in every route table of O(route_table_ids) (default
    every route table of the cluster VPC) and, with O(peer_route_table_ids), routes back to the cluster VPC's
    CIDRs on the peer side. Routes are only added; a route table that already routes a peer CIDR elsewhere is an
    error (nothing is changed). Routes are never purged.
  - Refuses overlapping CIDRs before changing anything.
  - O(state=absent) removes the routes that go through the connection (on both sides when the peer is reachable),
    then deletes the connection.
version_added: 0.1.0
author:
  - Tidepool EKS maintainers (@tidepool-org)
options:
  vpc_id:
    description:
      - Id of the cluster VPC (the requester); it must be O(cluster)'s (tagged, or O(cluster_vpc_id)).
    type: str
  cluster:
    description:
      - Name of the cluster whose VPC is the requester (found by eksctl's C(alpha.eksctl.io/cluster-name) tag when
        neither O(vpc_id) nor O(cluster_vpc_id) is given).
    type: str
    required: true
  cluster_vpc_id:
    description:
      - The VPC the inventory names as the cluster's (C(cluster.vpc.id), a VPC eksctl did not create), accepted as
        the cluster's without its tag.
    type: str
  peer_vpc_id:
    description:
      - Id of the peer VPC (the accepter).
    type: str
    required: true
  peer_region:
    description:
      - Region of the peer VPC. Defaults to the cluster's region.
    type: str
  peer_owner_id:
    description:
      - AWS account id owning the peer VPC. Defaults to the caller's account.
    type: str
  peer_cidr_blocks:
    description:
      - CIDRs of the peer VPC, used when they cannot be read (a peer in another account without accepter
        credentials, such as a MongoDB Atlas project). Read from the peer VPC otherwise.
    type: list
    elements: str
  route_table_ids:
    description:
      - Route tables of the cluster VPC that get a route to each peer CIDR. Default every route table of the VPC.
    type: list
    elements: str
  peer_route_table_ids:
    description:
      - Route tables of the peer VPC that get a route to each cluster VPC CIDR. Needs access to the peer
        (same account, or the accepter credentials). Default none.
    type: list
    elements: str
  allow_dns_resolution:
    description:
      - Let each side resolve the other's private DNS host names to private IPs (C(AllowDnsResolutionFromRemoteVpc)).
        Set on the accepter side too when the caller may. Unset leaves the options as they are.
    type: bool
  tags:
    description:
      - Tags of a newly requested peering connection.
    type: dict
  state:
    description:
      - V(present) requests, accepts and routes; V(absent) removes the connection's routes and the connection.
    type: str
    choices: [present, absent]
    default: present
  wait:
    description:
      - Wait until the connection is active (V(present), when it can be accepted) or deleted (V(absent)).
    type: bool
    default: true
  wait_timeout:
    description:
      - How long to wait, in seconds.
    type: int
    default: 300
  accepter_region:
    description:
      - Region for the accepter's API calls. Defaults to O(peer_region), then O(region).
    type: str
  accepter_profile:
    description:
      - Named AWS profile of the peer account (the accepter credentials).
    type: str
  accepter_aws_access_key_id:
    description:
      - Access key id of the peer account (the accepter credentials).
    type: str
  accepter_aws_secret_access_key:
    description:
      - Secret access key of the peer account.
    type: str
  accepter_aws_session_token:
    description:
      - Session token of the peer account's temporary credentials.
    type: str
  accepter_endpoint_url:
    description:
      - AWS API endpoint for the accepter's calls. Defaults to O(endpoint_url).
    type: str
extends_documentation_fragment:
  - tidepool.eks.aws
attributes:
  check_mode:
    support: full
    description: Can run in check_mode and return changed status prediction without modifying target.
    details: Returns the planned actions (request, accept, routes, DNS options, delete) and changes nothing.
  diff_mode:
    support: full
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    details: Before/after of the connection status, the routes through it and the DNS resolution options.
  idempotent:
    support: full
    description: When run twice in a row outside check mode, with the same arguments, the second invocation indicates no change.
    details: A live connection between the two VPCs is reused; existing routes through it are kept.
notes:
  - Without the accepter credentials, a connection to another account stays C(pending-acceptance) until the peer
    accepts it (for MongoDB Atlas, in the Atlas console); the task warns and does not wait.
seealso:
  - module: amazon.aws.ec2_vpc_peer
"""

EXAMPLES = r"""
- name: Peer test1's VPC with the Tidepool Mongo VPC of the same account
  tidepool.eks.vpc_peering:
    cluster: test1
    region: us-west-2
    peer_vpc_id: vpc-0a1b2c3d4e5f60718
    allow_dns_resolution: true

- name: Request peering with a MongoDB Atlas project (accepted in Atlas)
  tidepool.eks.vpc_peering:
    cluster: test1
    vpc_id: vpc-0123456789abcdef0          # must carry test1's tag
    region: us-west-2
    peer_vpc_id: vpc-0fedcba9876543210
    peer_owner_id: "536727724300"
    peer_region: us-east-1
    peer_cidr_blocks: [192.168.248.0/21]

- name: Remove the peering and its routes
  tidepool.eks.vpc_peering:
    cluster: test1
    region: us-west-2
    peer_vpc_id: vpc-0a1b2c3d4e5f60718
    state: absent
"""

RETURN = r"""
peering_id:
  description: Id of the peering connection (null when there is none; in check mode for a new one).
  returned: always
  type: str
  sample: pcx-0123456789abcdef0
status:
  description: Status code of the connection after the task (C(active), C(pending-acceptance), C(deleted)...).
  returned: always
  type: str
  sample: active
vpc_id:
  description: The cluster (requester) VPC id.
  returned: always
  type: str
peer_vpc_id:
  description: The peer (accepter) VPC id.
  returned: always
  type: str
routes_added:
  description: Routes added (or, in check mode, to add).
  returned: always
  type: list
  elements: dict
  sample: [{route_table_id: rtb-0123, destination_cidr_block: 10.1.0.0/16, side: requester}]
routes_removed:
  description: Routes removed (or, in check mode, to remove) by O(state=absent).
  returned: always
  type: list
  elements: dict
actions:
  description: Every action taken (or planned in check mode), in order.
  returned: always
  type: list
  elements: dict
  sample: [{action: request}, {action: accept}, {action: route, route_table_id: rtb-0123, destination_cidr_block: 10.1.0.0/16, side: requester}]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tidepool.eks.plugins.module_utils.aws import connection as aws
from ansible_collections.tidepool.eks.plugins.module_utils.aws import vpc_peering as core
from ansible_collections.tidepool.eks.plugins.module_utils.common import runner

ACCEPTER = ("profile", "aws_access_key_id", "aws_secret_access_key", "aws_session_token", "endpoint_url")


def argument_spec() -> dict:
    spec = aws.aws_argument_spec()
    spec.update(
        vpc_id=dict(type="str"),
        cluster=dict(type="str", required=True),
        cluster_vpc_id=dict(type="str"),
        peer_vpc_id=dict(type="str", required=True),
        peer_region=dict(type="str"),
        peer_owner_id=dict(type="str"),
        peer_cidr_blocks=dict(type="list", elements="str"),
        route_table_ids=dict(type="list", elements="str"),
        peer_route_table_ids=dict(type="list", elements="str"),
        allow_dns_resolution=dict(type="bool"),
        tags=dict(type="dict"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=core.DEFAULT_WAIT_TIMEOUT),
        accepter_region=dict(type="str"),
        accepter_profile=dict(type="str"),
        accepter_aws_access_key_id=dict(type="str", no_log=False),
        accepter_aws_secret_access_key=dict(type="str", no_log=True),
        accepter_aws_session_token=dict(type="str", no_log=True),
        accepter_endpoint_url=dict(type="str"),
    )
    return spec


def clients(params: dict):
    """(requester EC2, accepter EC2, caller account id, accepter credentials given)."""
    conn = aws.resolve_connection(params)
    ec2 = aws.client("ec2", conn=conn)
    region = ec2.meta.region_name
    given = bool(params.get("accepter_profile") or params.get("accepter_aws_access_key_id"))
    peer_params = dict(conn)
    if given:
        for key in ("profile", "aws_access_key_id", "aws_secret_access_key", "aws_session_token"):
            peer_params[key] = params.get(f"accepter_{key}")
    if params.get("accepter_endpoint_url"):
        peer_params["endpoint_url"] = params["accepter_endpoint_url"]
    peer_params["region"] = params.get("accepter_region") or params.get("peer_region") or region
    peer_ec2 = aws.client("ec2", conn=aws.resolve_connection(peer_params) if given else peer_params)
    account = aws.call(aws.client("sts", conn=conn, global_service=True), "get_caller_identity")["Account"]
    return ec2, peer_ec2, account, given


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True,
                           required_together=[("accepter_aws_access_key_id", "accepter_aws_secret_access_key")])
    p = module.params

    def work():
        ec2, peer_ec2, account, given = clients(p)
        plan = core.build_plan(p, ec2, peer_ec2, account_id=account, accepter_given=given)
        result = runner.apply(module, plan, lambda plan: core.apply_plan(plan, ec2, peer_ec2, wait=p["wait"],
                                                                         timeout=p["wait_timeout"], tags=p["tags"]),
                              plan.result)
        return dict(result, warnings=plan.warnings, diff=plan.diff)

    runner.run(module, work, errors=(core.PeeringError, aws.AwsError), unexpected="vpc_peering")


if __name__ == "__main__":
    main()
