"""vpc_peering.check_cluster_vpc: a VPC is changed only when it is the cluster's (its tag, or the inventory's
cluster.vpc.id); otherwise one error naming the VPC and its tags."""
from __future__ import annotations

import pytest

from ansible_collections.tidepool.eks.plugins.module_utils.aws import vpc_peering as core


def vpc(tags=None, vpc_id="vpc-0123abcd"):
    return {"VpcId": vpc_id, "Tags": [{"Key": k, "Value": v} for k, v in (tags or {}).items()]}


@pytest.mark.parametrize("tags,cluster_vpc_id", [
    ({"alpha.eksctl.io/cluster-name": "test1"}, None),
    ({"eksctl.cluster.k8s.io/v1alpha1/cluster-name": "test1"}, None),
    ({"tidepool.org/cluster": "test1", "Name": "mongo"}, None),
    ({}, "vpc-0123abcd"),
])
def test_the_clusters_vpc_is_accepted(tags, cluster_vpc_id):
    core.check_cluster_vpc(vpc(tags), "test1", cluster_vpc_id)


@pytest.mark.parametrize("tags,cluster_vpc_id,shown", [
    ({"alpha.eksctl.io/cluster-name": "prod"}, None, "alpha.eksctl.io/cluster-name=prod"),
    ({"Name": "test1"}, None, "Name=test1"),
    ({}, None, "its tags: none"),
    ({}, "vpc-99999999", "its tags: none"),
    ({"tidepool.org/cluster": "test10"}, None, "tidepool.org/cluster=test10"),
])
def test_another_vpc_is_refused_naming_it_and_its_tags(tags, cluster_vpc_id, shown):
    with pytest.raises(core.PeeringError) as err:
        core.check_cluster_vpc(vpc(tags), "test1", cluster_vpc_id)
    assert str(err.value).startswith("VPC vpc-0123abcd does not belong to cluster test1 (")
    assert shown in str(err.value) and "nothing was changed" in str(err.value)
