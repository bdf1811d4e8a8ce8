"""Inputs that reach into other namespaces, other accounts or the nodes (issue 24): reserved environment names,
privileged eksctl settings without their opt-in, malformed eksctl blocks, peering entries and SES identities.
Each bad input gives exactly one message, starting with the key path at fault and naming the input; the renderer
never sees it (a malformed block used to crash it with a raw KeyError/TypeError)."""
from __future__ import annotations

import copy

import pytest

from ansible_collections.tidepool.eks.plugins.module_utils.config import catalogue
from ansible_collections.tidepool.eks.plugins.module_utils.config import cluster_config
from ansible_collections.tidepool.eks.plugins.module_utils.config import privileged
from ansible_collections.tidepool.eks.plugins.module_utils.config import tree
from ansible_collections.tidepool.eks.plugins.module_utils.config import validation
from ansible_collections.tidepool.eks.plugins.module_utils.gitops import registry
from tests.support.inventory import load_values, the_one_error

ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
OTHER_ACCOUNT = "536727724300"
STAR = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


@pytest.fixture()
def values():
    return load_values("test1")


def _env(name):
    return lambda v: v["environments"].update({name: {}})


def _ng(**kw):
    return lambda v: v["cluster"]["nodeGroups"][0].update(kw)


def _cluster(**kw):
    return lambda v: v["cluster"].update(kw)


def _sa(**kw):
    return lambda v: v["cluster"].update(iam={"serviceAccounts": [{"metadata": {"name": "app", "namespace": "qa2"},
                                                                   **kw}]})


def _peer(**kw):
    return lambda v: v["environments"]["qa2"].update(peering=[{"peer_vpc_id": "vpc-0123abcd4567ef890", **kw}])


# (case, mutation of test1's values, key path, fragments of the one message)
BAD = [
    # reserved namespaces: the environment and whose namespace it is
    ("flux v2's namespace", _env("flux-system"), "environments.flux-system",
     ["'flux-system' is reserved", "Flux v2 controllers (flux_version 2)"]),
    ("flux v1's namespace", _env("flux"), "environments.flux",
     ["'flux' is reserved", "Flux v1 controllers", "shared services flux, fluxcloud"]),
    ("ESO's namespace", _env("external-secrets"), "environments.external-secrets",
     ["shared service external-secrets"]),
    ("cert-manager's namespace", _env("certmanager"), "environments.certmanager", ["shared service certmanager"]),
    ("gloo's namespace", _env("gloo-system"), "environments.gloo-system", ["shared service gloo"]),
    ("a kube-* namespace", _env("kube-flannel"), "environments.kube-flannel", ["Kubernetes reserves"]),
    ("default", _env("default"), "environments.default", ["Kubernetes reserves (default, kube-*)"]),
    # privileged settings without the opt-in: one error each, naming the opt-in
    ("IRSA with AdministratorAccess", _sa(attachPolicyARNs=[ADMIN]),
     "cluster.iam.serviceAccounts[0].attachPolicyARNs[0]", [ADMIN, "cluster_privileged_settings: [adminPolicies]"]),
    ("IRSA with a *:* statement", _sa(attachPolicy=STAR), "cluster.iam.serviceAccounts[0].attachPolicy",
     ["allows every action on every resource", "[adminPolicies]"]),
    ("IRSA with iam:* in a list", _sa(attachPolicy={"Statement": [{"Action": ["s3:GetObject", "iam:*"],
                                                                   "Resource": ["*"]}]}),
     "cluster.iam.serviceAccounts[0].attachPolicy", ["[adminPolicies]"]),
    ("node role with PowerUserAccess", _ng(iam={"attachPolicyARNs": ["arn:aws:iam::aws:policy/PowerUserAccess"]}),
     "cluster.nodeGroups[0].iam.attachPolicyARNs[0]", ["PowerUserAccess", "[adminPolicies]"]),
    ("addon with IAMFullAccess", _cluster(addons=[{"name": "vpc-cni",
                                                   "attachPolicyARNs": ["arn:aws:iam::aws:policy/IAMFullAccess"]}]),
     "cluster.addons[0].attachPolicyARNs[0]", ["IAMFullAccess", "[adminPolicies]"]),
    ("identity mapping to system:masters", _cluster(iamIdentityMappings=[{
        "arn": "arn:aws:iam::118346523422:role/ops", "username": "ops", "groups": ["system:masters"]}]),
     "cluster.iamIdentityMappings[0].groups", ["arn:aws:iam::118346523422:role/ops to system:masters",
                                               "[iamIdentityMappings]"]),
    ("identity mapping from another account", _cluster(iamIdentityMappings=[{
        "arn": f"arn:aws:iam::{OTHER_ACCOUNT}:role/ci", "username": "ci", "groups": ["viewers"]}]),
     "cluster.iamIdentityMappings[0]", [f"maps account {OTHER_ACCOUNT}", "118346523422", "[iamIdentityMappings]"]),
    ("account mapping of another account", _cluster(iamIdentityMappings=[{"account": OTHER_ACCOUNT}]),
     "cluster.iamIdentityMappings[0]", [OTHER_ACCOUNT, "[iamIdentityMappings]"]),
    ("access entry with cluster admin", _cluster(accessConfig={"accessEntries": [{
        "principalARN": "arn:aws:iam::118346523422:role/ops", "accessPolicies": [{
            "policyARN": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"}]}]}),
     "cluster.accessConfig.accessEntries[0].accessPolicies[0].policyARN", ["[accessEntries]"]),
    ("IMDSv1 on a node group", _ng(disableIMDSv1=False), "cluster.nodeGroups[0].disableIMDSv1",
     ["is false", "IMDSv1", "[disableIMDSv1]"]),
    ("pod IMDS on a managed node group", _cluster(managedNodeGroups=[{"name": "m", "disablePodIMDS": False}]),
     "cluster.managedNodeGroups[0].disablePodIMDS", ["every pod", "[disablePodIMDS]"]),
    ("preBootstrapCommands", _ng(preBootstrapCommands=["curl x | sh"]), "cluster.nodeGroups[0].preBootstrapCommands",
     ["as root", "[preBootstrapCommands]"]),
    ("overrideBootstrapCommand", _cluster(managedNodeGroups=[{"name": "m", "overrideBootstrapCommand": "#!/bin/sh"}]),
     "cluster.managedNodeGroups[0].overrideBootstrapCommand", ["[overrideBootstrapCommand]"]),
    ("endpoint open to 0.0.0.0/0", lambda v: v["cluster"]["vpc"].update(publicAccessCIDRs=["0.0.0.0/0"]),
     "cluster.vpc.publicAccessCIDRs", ["includes 0.0.0.0/0", "[publicAccessCIDRs]"]),
    ("public endpoint without CIDRs", lambda v: v["cluster"]["vpc"].update(clusterEndpoints={"publicAccess": True}),
     "cluster.vpc.clusterEndpoints.publicAccess", ["eksctl then allows 0.0.0.0/0", "[publicAccessCIDRs]"]),
    ("opt-in with an unknown setting", lambda v: v.update(cluster_privileged_settings=["everything"]),
     "cluster_privileged_settings[0]", ["'everything' must be one of adminPolicies"]),
    # malformed blocks: a message naming the key, never a traceback from the renderer
    ("service account without metadata", _cluster(iam={"serviceAccounts": [{}]}),
     "cluster.iam.serviceAccounts[0].metadata", ["required, a dict with name and namespace"]),
    ("service account without namespace", _cluster(iam={"serviceAccounts": [{"metadata": {"name": "a"}}]}),
     "cluster.iam.serviceAccounts[0].metadata.namespace", ["required"]),
    ("serviceAccounts a number", _cluster(iam={"serviceAccounts": 1}), "cluster.iam.serviceAccounts",
     ["must be a list of IRSA service accounts, not a number"]),
    ("identity mapping empty", _cluster(iamIdentityMappings=[None]), "cluster.iamIdentityMappings[0]",
     ["must be an IAM identity mapping", "not empty"]),
    ("identity mappings a dict", _cluster(iamIdentityMappings={"arn": "x"}), "cluster.iamIdentityMappings",
     ["must be a list of IAM identity mappings, not a dict"]),
    ("policy ARN malformed", _sa(attachPolicyARNs=["AdministratorAccess"]),
     "cluster.iam.serviceAccounts[0].attachPolicyARNs[0]", ["'AdministratorAccess' is not an IAM policy ARN"]),
    ("preBootstrapCommands a string", _ng(preBootstrapCommands="echo"), "cluster.nodeGroups[0].preBootstrapCommands",
     ["must be a list of strings"]),
    ("disableIMDSv1 a string", _ng(disableIMDSv1="no"), "cluster.nodeGroups[0].disableIMDSv1", ["true or false"]),
    ("clusterEndpoints typo", lambda v: v["cluster"]["vpc"].update(clusterEndpoints={"publicAcess": True}),
     "cluster.vpc.clusterEndpoints.publicAcess", ["did you mean publicAccess?"]),
    # peering entries typed
    ("peer VPC id malformed", _peer(peer_vpc_id="vpc-123"), "environments.qa2.peering[0].peer_vpc_id",
     ["'vpc-123' is not a VPC id"]),
    ("requester VPC id malformed", _peer(vpc_id="subnet-0123abcd"), "environments.qa2.peering[0].vpc_id",
     ["'subnet-0123abcd' is not a VPC id"]),
    ("peer CIDR malformed", _peer(peer_cidr_blocks=["192.168.248.0/33x"]),
     "environments.qa2.peering[0].peer_cidr_blocks[0]", ["is not an IPv4 CIDR block"]),
    ("peer CIDR with host bits", _peer(peer_cidr_blocks=["192.168.248.1/21"]),
     "environments.qa2.peering[0].peer_cidr_blocks[0]", ["'192.168.248.1/21' is not an IPv4 CIDR block",
                                                          "host bits set"]),
    ("route table id malformed", _peer(route_table_ids=["rtb-main"]), "environments.qa2.peering[0].route_table_ids[0]",
     ["'rtb-main' is not a route table id"]),
    ("peer region malformed", _peer(peer_region="US East"), "environments.qa2.peering[0].peer_region",
     ["is not an AWS region name"]),
    ("peer account malformed", _peer(peer_owner_id="5367277243"), "environments.qa2.peering[0].peer_owner_id",
     ["is not a 12-digit AWS account id"]),
    ("peering state unknown", _peer(state="deleted"), "environments.qa2.peering[0].state",
     ["must be one of present, absent"]),
    ("accepter_profile in values", _peer(accepter_profile="prod-admin"),
     "environments.qa2.peering[0].accepter_profile", ["not allowed here", "host_vars/<host>/main.yml"]),
    ("peering without peer_vpc_id", lambda v: v["environments"]["qa2"].update(peering=[{"state": "absent"}]),
     "environments.qa2.peering[0].peer_vpc_id", ["required"]),
    # SES identity: an address or a domain, no IAM wildcards
    ("sesIdentity with ?", lambda v: v["aws"].update(sesIdentity="tidepool.or?"), "aws.sesIdentity",
     ["'tidepool.or?' is not the SES identity", "no * or ?"]),
    ("sesIdentity with *", lambda v: v["aws"].update(sesIdentity="*@tidepool.org"), "aws.sesIdentity",
     ["'*@tidepool.org'"]),
    ("sesIdentity a bare word", lambda v: v["aws"].update(sesIdentity="tidepool"), "aws.sesIdentity",
     ["an email address or a domain"]),
]


@pytest.mark.parametrize("mutate,path,fragments", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_each_bad_input_is_one_error_naming_it(values, mutate, path, fragments):
    error = the_one_error(values, mutate)
    assert error.startswith(path + ":") and all(f in error for f in fragments), error


def test_the_table_has_at_least_20_cases():
    assert len({b[0] for b in BAD}) >= 20


def test_test1_is_valid_and_has_no_privileged_setting(values):
    """test1 (the seed's values) needs no opt-in: its node group's addon policies keep pod IMDS, which the
    renderer allows (eksctl needs it for addon policies), and aws.iamUsers are the guide's documented admins."""
    assert validation.validate(values) == []
    assert privileged.errors(values) == []


@pytest.mark.parametrize("setting,mutate", [
    ("adminPolicies", _sa(attachPolicyARNs=[ADMIN])),
    ("iamIdentityMappings", _cluster(iamIdentityMappings=[{"arn": "arn:aws:iam::118346523422:role/ops",
                                                           "username": "ops", "groups": ["system:masters"]}])),
    ("disableIMDSv1", _ng(disableIMDSv1=False)),
    ("disablePodIMDS", _ng(disablePodIMDS=False)),
    ("preBootstrapCommands", _ng(preBootstrapCommands=["echo hi"])),
    ("publicAccessCIDRs", lambda v: v["cluster"]["vpc"].update(publicAccessCIDRs=["0.0.0.0/0"])),
])
def test_the_opt_in_names_the_setting_and_the_render_keeps_it(values, setting, mutate):
    mutate(values)
    assert validation.validate(values) != []
    other = [s for s in privileged.SETTINGS if s != setting]
    values["cluster_privileged_settings"] = other    # every other opt-in does not allow it
    assert len(validation.validate(values)) == 1
    values["cluster_privileged_settings"] = [setting]
    assert validation.validate(values) == []
    config = cluster_config.eksctl_cluster_config(values, registry.for_values(values))
    assert config["nodeGroups"][0]["disableIMDSv1"] is (setting != "disableIMDSv1")
    assert "cluster_privileged_settings" not in config


def test_a_setting_used_twice_is_two_errors(values):
    values["cluster"]["nodeGroups"].append({"name": "ng2", "disableIMDSv1": False})
    values["cluster"]["nodeGroups"][0]["disableIMDSv1"] = False
    errors = validation.validate(values)
    assert [e.split(":")[0] for e in errors] == ["cluster.nodeGroups[0].disableIMDSv1",
                                                 "cluster.nodeGroups[1].disableIMDSv1"]


def test_a_restricted_public_endpoint_and_same_account_mappings_are_not_privileged(values):
    values["cluster"]["vpc"].update(clusterEndpoints={"publicAccess": True, "privateAccess": True},
                                    publicAccessCIDRs=["203.0.113.0/24"])
    values["cluster"]["iamIdentityMappings"] = [{"arn": "arn:aws:iam::118346523422:role/dev", "username": "dev",
                                                 "groups": ["tidepool-viewers"]}]
    values["cluster"]["iam"] = {"serviceAccounts": [{
        "metadata": {"name": "app", "namespace": "qa2"},
        "attachPolicyARNs": ["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"],
        "attachPolicy": {"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}}]}
    assert validation.validate(values) == []
    tree.render(values, registry.for_values(values))


def test_every_namespace_either_flavour_renders_is_reserved(values):
    """Ask the flavours: every namespace the shared services of flux_version 1 and 2 render (all packages on) and
    each flavour's operator namespace is refused as an environment name."""
    for pkg in catalogue.PKGS:
        values["pkgs"][pkg] = {"enabled": True}
    values["pkgs"]["fluxcloud"].update(channel="#ops", username="flux", secret="slack", githubUrl="https://x.org")
    values["pkgs"]["sumologic"] = {"enabled": False}
    namespaces = set()
    for version in (1, 2):
        flavour = registry.flavour(version)
        namespaces.add(flavour.OPERATOR_NAMESPACE)
        v = dict(copy.deepcopy(values), flux_version=version)
        for pkg in flavour.UNSUPPORTED_PACKAGES:   # every package the flavour installs
            v["pkgs"][pkg] = {"enabled": False}
        for obj in tree.objects(v, "shared", flavour) + tree.objects(v, "cluster", flavour):
            ns = obj["metadata"]["name"] if obj["kind"] == "Namespace" else obj["metadata"].get("namespace")
            if ns and ns not in values["environments"]:
                namespaces.add(ns)
    assert {"flux", "flux-system", "external-secrets", "certmanager", "kube-system", "linkerd"} <= namespaces
    assert sorted(ns for ns in namespaces if not catalogue.reserved_namespace(ns)) == []
    assert set(catalogue.GITOPS_OPERATOR_NAMESPACES.values()) == {f.OPERATOR_NAMESPACE
                                                                   for f in registry.FLAVOURS.values()}


@pytest.mark.parametrize("entries,path,fragment", [
    ([{"peer_vpc_id": "vpc-0123abcd", "accepter_profile": "peer"}], None, None),
    ([{"peer_vpc_id": "vpc-0123abcd", "acceptor_profile": "peer"}], "peering[0].acceptor_profile",
     "did you mean accepter_profile?"),
    ([{"peer_vpc_id": "vpc-0123abcd", "peer_cidr_blocks": ["10.1.0.1/16"]}], "peering[0].peer_cidr_blocks[0]",
     "host bits set"),
    ("vpc-0123abcd", "peering", "must be a list of peering connections, not a string"),
    ([{"peer_vpc_id": "vpc-0123abcd", "allow_dns_resolution": "yes"}], "peering[0].allow_dns_resolution",
     "true or false"),
])
def test_the_hosts_peering_list_is_typed_too(entries, path, fragment):
    """The operator's list (host_vars/<host>/main.yml, filter peering_errors): accepter_profile allowed there."""
    errors = validation.peering_errors(entries)
    if path is None:
        assert errors == []
    else:
        assert len(errors) == 1 and errors[0].startswith(path + ":") and fragment in errors[0], errors
