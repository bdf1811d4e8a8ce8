# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""The ``cluster`` block of the inventory's JSON Schema: the eksctl ClusterConfig (``eksctl.io/v1alpha5``).

:data:`CLUSTER` accepts the ClusterConfig keys (:data:`EKSCTL_CLUSTER_KEYS`) and leaves their contents to eksctl,
except what the collection reads or checks: metadata, the VPC's CIDR and endpoints, node group names, sizes, IAM
and the node settings :mod:`config.privileged` checks, the IRSA service accounts (metadata name and namespace,
policies), identity mappings, addon and access-entry policies. A malformed block is one schema error naming the
key, before the renderer (:mod:`config.cluster_config`) reads it.
"""
from __future__ import annotations

from ansible_collections.tidepool.eks.plugins.module_utils.common import naming
from ansible_collections.tidepool.eks.plugins.module_utils.config import schema_types as t

#: Keys of the eksctl ClusterConfig (eksctl.io/v1alpha5, schema of eksctl v0.201.0) the inventory's ``cluster`` may
#: carry; ``apiVersion`` and ``kind`` are written by the renderer. Their contents are eksctl's to validate, except
#: the blocks :data:`CLUSTER` describes.
EKSCTL_CLUSTER_KEYS = (
    "accessConfig", "addons", "addonsConfig", "autoModeConfig", "availabilityZones", "cloudWatch", "fargateProfiles",
    "gitops", "iam", "iamIdentityMappings", "identityProviders", "karpenter", "kubernetesNetworkConfig", "localZones",
    "managedNodeGroups", "metadata", "nodeGroups", "outpost", "privateCluster", "remoteNetworkConfig",
    "secretsEncryption", "vpc", "zonalShiftConfig")
EKSCTL_VPC_KEYS = (
    "autoAllocateIPv6", "cidr", "clusterEndpoints", "controlPlaneSecurityGroupIDs", "controlPlaneSubnetIDs",
    "extraCIDRs", "extraIPv6CIDRs", "hostnameType", "id", "ipv6Cidr", "ipv6Pool", "manageSharedNodeSecurityGroupRules",
    "nat", "publicAccessCIDRs", "securityGroup", "sharedNodeSecurityGroup", "subnets")
EKSCTL_NODEGROUP_KEYS = (
    "additionalVolumes", "ami", "amiFamily", "asgMetricsCollection", "asgSuspendProcesses", "availabilityZones",
    "bottlerocket", "capacityReservation", "classicLoadBalancerNames", "clusterDNS", "containerRuntime", "cpuCredits",
    "desiredCapacity", "disableIMDSv1", "disablePodIMDS", "ebsOptimized", "efaEnabled", "enableDetailedMonitoring",
    "iam", "instanceName", "instancePrefix", "instanceSelector", "instanceType", "instancesDistribution",
    "kubeletExtraConfig", "labels", "localZones", "maxInstanceLifetime", "maxPodsPerNode", "maxSize", "minSize", "name",
    "outpostARN", "overrideBootstrapCommand", "placement", "preBootstrapCommands", "privateNetworking",
    "propagateASGTags", "securityGroups", "ssh", "subnets", "tags", "taints", "targetGroupARNs", "updateConfig",
    "volumeEncrypted", "volumeIOPS", "volumeKmsKeyID", "volumeName", "volumeSize", "volumeThroughput", "volumeType")
EKSCTL_NODEGROUP_IAM_KEYS = (
    "attachPolicy", "attachPolicyARNs", "instanceProfileARN", "instanceRoleARN", "instanceRoleName",
    "instanceRolePermissionsBoundary", "withAddonPolicies")
EKSCTL_ADDON_POLICIES = (
    "albIngress", "appMesh", "appMeshPreview", "autoScaler", "awsLoadBalancerController", "certManager", "cloudWatch",
    "ebs", "efs", "externalDNS", "fsx", "imageBuilder", "xRay")
EKSCTL_CLUSTER_IAM_KEYS = (
    "fargatePodExecutionRoleARN", "fargatePodExecutionRolePermissionsBoundary", "podIdentityAssociations",
    "serviceAccounts", "serviceRoleARN", "serviceRolePermissionsBoundary", "vpcResourceControllerPolicy", "withOIDC")

_POLICY_ARNS = {"type": "array", "description": "a list of IAM policy ARNs", "items": t.string(
    "an IAM policy ARN (arn:aws:iam::<account or aws>:policy/<name>)",
    r"\A(arn:aws(-[a-z]+)*:iam::([0-9]{12}|aws):policy/[A-Za-z0-9+=,.@_/-]{1,512})\Z")}
_POLICY = {"type": "object", "description": "an IAM policy document (a dict with Version and Statement)"}
_STRS = t.STRS
#: Types of the node group keys the collection reads or the privileged settings check (config.privileged).
_NODEGROUP_TYPES = {
    "name": t.string("a node group name (a letter, then letters, digits, hyphens)", naming.CLUSTER_NAME_PATTERN,
                     max_length=naming.CLUSTER_NAME_MAX),
    "minSize": t.SIZE, "maxSize": t.SIZE, "desiredCapacity": t.SIZE, "tags": t.STR_MAP, "labels": t.STR_MAP,
    "disableIMDSv1": t.BOOL, "disablePodIMDS": t.BOOL, "preBootstrapCommands": _STRS,
    "overrideBootstrapCommand": t.string("a shell script"),
    "iam": t.keys("the node group's IAM settings", EKSCTL_NODEGROUP_IAM_KEYS, attachPolicyARNs=_POLICY_ARNS,
                  attachPolicy=_POLICY, withAddonPolicies=t.closed("addon policies of the node role",
                                                                   {k: t.BOOL for k in EKSCTL_ADDON_POLICIES}))}
_SERVICE_ACCOUNT = t.keys(
    "an IRSA service account (metadata with name and namespace, attachPolicyARNs or attachPolicy, ...)",
    ("attachPolicy", "attachPolicyARNs", "attachRoleARN", "metadata", "permissionsBoundary", "roleName", "roleOnly",
     "status", "tags", "wellKnownPolicies"), required=("metadata",),
    metadata=t.closed("a dict with name and namespace", {
        "name": t.string("a service account name (lower case letters, digits, '-', '.')",
                         naming.DNS_SUBDOMAIN_PATTERN,
                         max_length=naming.DNS_SUBDOMAIN_MAX),
        "namespace": t.string("a namespace name (a DNS label)", naming.DNS_LABEL_PATTERN,
                              max_length=naming.DNS_LABEL_MAX),
        "labels": t.STR_MAP, "annotations": t.STR_MAP}, required=("name", "namespace")),
    attachPolicyARNs=_POLICY_ARNS, attachPolicy=_POLICY, roleOnly=t.BOOL, tags=t.STR_MAP,
    wellKnownPolicies={"type": "object", "description": "a dict of well-known policy -> true|false",
                       "additionalProperties": t.BOOL})
_IDENTITY_MAPPING = t.closed("an IAM identity mapping (arn, username, groups; or account; or serviceName)", {
    "arn": t.string("an IAM role or user ARN", r"\Aarn:aws(-[a-z]+)*:iam::[0-9]{12}:[A-Za-z0-9+=,.@_/-]+\Z"),
    "username": t.string("a Kubernetes user name"), "groups": _STRS, "account": t.ACCOUNT,
    "serviceName": t.string("an AWS service name (emr-containers)"), "namespace": t.string("a namespace"),
    "noDuplicateARNs": t.BOOL})


def _nodegroup(what):
    return t.keys(what, EKSCTL_NODEGROUP_KEYS,
                  instanceType=t.string("an EC2 instance type such as m5.large", r"\A[a-z0-9-]+\.[a-z0-9]+\Z"),
                  **_NODEGROUP_TYPES)


def _nodegroups(what):
    item = _nodegroup(f"a {what} entry (eksctl keys: name, instanceType, desiredCapacity, minSize, maxSize, ...)")
    item["required"] = ["name"]
    return {"type": "array", "description": f"a list of {what}", "items": item}


_ACCESS_CONFIG = {"type": "object", "description": "a dict (eksctl accessConfig)", "properties": {
    "accessEntries": {"type": "array", "description": "a list of access entries", "items": {
        "type": "object", "description": "an access entry (principalARN, accessPolicies, ...)",
        "properties": {"kubernetesGroups": _STRS, "accessPolicies": {
            "type": "array", "description": "a list of {policyARN, accessScope}",
            "items": {"type": "object", "description": "a dict {policyARN, accessScope}",
                      "properties": {"policyARN": t.string("an EKS access policy ARN")}}}}}}}}

#: The JSON Schema of the inventory's ``cluster`` (draft 2020-12).
CLUSTER = t.keys(
    "a dict with metadata (name, region), vpc (cidr), nodeGroups and other eksctl ClusterConfig keys",
    EKSCTL_CLUSTER_KEYS,
    metadata=t.closed("a dict with name, region, optional version and tags", {
        "name": t.string("a valid EKS cluster name (eksctl rule: a letter, then letters, digits or hyphens; at "
                         f"most {naming.CLUSTER_NAME_MAX} characters)", naming.CLUSTER_NAME_PATTERN,
                         max_length=naming.CLUSTER_NAME_MAX),
        "region": t.string("an AWS region name such as us-west-2", t.REGION_PATTERN),
        "version": {"type": ["string", "number"], "description": "a Kubernetes version such as \"1.34\""},
        "tags": t.STR_MAP, "annotations": t.STR_MAP,
    }, required=("name", "region")),
    vpc=t.keys("a dict such as {cidr: 10.47.0.0/16}", EKSCTL_VPC_KEYS,
               cidr=t.string("an IPv4 CIDR block such as 10.47.0.0/16", r"\A[0-9./]+\Z"),
               clusterEndpoints=t.closed("a dict {publicAccess, privateAccess}",
                                         {"publicAccess": t.BOOL, "privateAccess": t.BOOL}),
               publicAccessCIDRs={"type": "array", "description": "a list of CIDR blocks",
                                  "items": t.string("a CIDR block such as 203.0.113.0/24", r"\A[0-9a-fA-F.:/]+\Z")}),
    nodeGroups=_nodegroups("node groups"),
    managedNodeGroups={"type": "array", "description": "a list of managed node groups",
                       "items": {"type": "object", "description": "a managed node group", "required": ["name"],
                                 "properties": {k: _NODEGROUP_TYPES[k] for k in (
                                     "name", "minSize", "maxSize", "desiredCapacity", "disableIMDSv1",
                                     "disablePodIMDS", "preBootstrapCommands", "overrideBootstrapCommand", "iam")}}},
    iam=t.keys("the cluster's IAM settings (eksctl ClusterIAM)", EKSCTL_CLUSTER_IAM_KEYS, withOIDC=t.BOOL,
               serviceAccounts={"type": "array", "description": "a list of IRSA service accounts",
                                "items": _SERVICE_ACCOUNT},
               podIdentityAssociations={"type": "array", "description": "a list of pod identity associations",
                                        "items": {"type": "object", "description": "a pod identity association",
                                                  "properties": {"permissionPolicyARNs": _POLICY_ARNS,
                                                                 "permissionPolicy": _POLICY}}}),
    iamIdentityMappings={"type": "array", "description": "a list of IAM identity mappings", "items": _IDENTITY_MAPPING},
    addons={"type": "array", "description": "a list of EKS addons", "items": {
        "type": "object", "description": "an addon (name, version, ...)", "required": ["name"],
        "properties": {"name": t.string("an addon name"), "attachPolicyARNs": _POLICY_ARNS, "attachPolicy": _POLICY}}},
    accessConfig=_ACCESS_CONFIG,
    required=["metadata"],
)
