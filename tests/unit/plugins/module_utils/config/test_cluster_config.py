"""The eksctl ClusterConfig and its IRSA policies against the install guide's test1 example."""
from __future__ import annotations

import pytest

from ansible_collections.tidepool.eks.plugins.module_utils.config import catalogue
from ansible_collections.tidepool.eks.plugins.module_utils.config import cluster_config
from ansible_collections.tidepool.eks.plugins.module_utils.config import environments
from ansible_collections.tidepool.eks.plugins.module_utils.gitops import registry
from tests.support.inventory import load_values

FLAVOUR = registry.flavour(1)


@pytest.fixture()
def values():
    return load_values("test1")


def sa(cfg, ns, name):
    [acct] = [s for s in cfg["iam"]["serviceAccounts"] if s["metadata"]["namespace"] == ns
              and s["metadata"]["name"] == name]
    return acct


def test_cluster_config_metadata_nodegroups_vpc(values):
    cfg = cluster_config.cluster_config(values, registry.for_values(values))
    assert cfg["apiVersion"] == "eksctl.io/v1alpha5"
    assert cfg["kind"] == "ClusterConfig"
    assert cfg["metadata"]["name"] == "test1"
    assert cfg["metadata"]["region"] == "us-west-2"
    assert cfg["metadata"]["version"] == catalogue.DEFAULT_KUBERNETES_VERSION != "1.14"
    assert cfg["metadata"]["version"] in catalogue.SUPPORTED_KUBERNETES_VERSIONS
    assert cfg["vpc"] == {"cidr": "10.47.0.0/16"}
    [ng] = cfg["nodeGroups"]
    assert ng["name"] == "ng" and ng["instanceType"] == "m4.large"
    assert (ng["desiredCapacity"], ng["minSize"], ng["maxSize"]) == (4, 1, 10)
    assert ng["iam"] == {"withAddonPolicies": {"autoScaler": True, "certManager": True, "externalDNS": True}}
    assert ng["tags"] == {"k8s.io/cluster-autoscaler/enabled": "true", "k8s.io/cluster-autoscaler/test1": "true"}
    assert cfg["iam"]["withOIDC"] is True


def test_cluster_config_irsa_accounts_in_guide_order(values):
    cfg = cluster_config.cluster_config(values, registry.for_values(values))
    got = [(s["metadata"]["namespace"], s["metadata"]["name"], s["metadata"]["labels"]["aws-usage"])
           for s in cfg["iam"]["serviceAccounts"]]
    assert got == [
        ("kube-system", "cluster-autoscaler", "cluster-ops"),
        ("certmanager", "certmanager", "certificate-management"),
        ("amazon-cloudwatch", "cloudwatch", "cloudwatch-logging"),
        ("external-dns", "external-dns", "DNS-alias-creation"),
        ("external-secrets", "external-secrets", "secrets-management"),
        ("qa2", "blob", "blob-service"),
        ("qa2", "image", "image-service"),
        ("qa2", "jellyfish", "jellyfish-service"),
        ("qa2", "hydrophone", "hydrophone-service"),
    ]


def test_cluster_config_policies_match_guide_with_bugs_fixed(values):
    cfg = cluster_config.cluster_config(values, registry.for_values(values))
    ca = sa(cfg, "kube-system", "cluster-autoscaler")["attachPolicy"]["Statement"]
    assert ca[0]["Resource"] == "*" and not any(a.startswith(("autoscaling:Set", "autoscaling:Terminate"))
                                                for a in ca[0]["Action"])
    # issue 17: the autoscaler changes only the auto scaling groups tagged for this cluster
    assert ca[1] == {"Effect": "Allow", "Resource": "*", "Action": [
        "autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
        "Condition": {"StringEquals": {"aws:ResourceTag/k8s.io/cluster-autoscaler/test1": "true",
                                       "aws:ResourceTag/k8s.io/cluster-autoscaler/enabled": "true"}}}
    for ns, name in (("certmanager", "certmanager"), ("external-dns", "external-dns")):
        st = sa(cfg, ns, name)["attachPolicy"]["Statement"]
        assert st[0] == {"Effect": "Allow", "Action": ["route53:ChangeResourceRecordSets",
                                                       "route53:ListResourceRecordSets"],
                         "Resource": "arn:aws:route53:::hostedzone/*"}
        assert st[1] == {"Effect": "Allow", "Action": ["route53:GetChange"], "Resource": "arn:aws:route53:::change/*"}
        assert st[2]["Resource"] == "*" and set(st[2]["Action"]) == {
            "route53:ListHostedZones", "route53:ListHostedZonesByName"}
    # ARNs from the inventory's account and region, only the cluster's log groups (issue 17)
    cw = sa(cfg, "amazon-cloudwatch", "cloudwatch")["attachPolicy"]["Statement"]
    assert cw[0]["Resource"] == ["arn:aws:logs:us-west-2:118346523422:log-group:/aws/containerinsights/test1/*",
                                 "arn:aws:logs:us-west-2:118346523422:log-group:/aws/containerinsights/test1/*"
                                 ":log-stream:*"]
    assert set(cw[0]["Action"]) == {"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents",
                                    "logs:DescribeLogStreams"}
    es = sa(cfg, "external-secrets", "external-secrets")["attachPolicy"]["Statement"]
    assert es[0] == {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                     "Resource": "arn:aws:secretsmanager:us-west-2:118346523422:secret:test1/*"}
    # research 22.5: the external-secrets role cannot read the Tiller CA key
    assert es[1] == {"Effect": "Deny", "Action": "secretsmanager:GetSecretValue",
                     "Resource": "arn:aws:secretsmanager:us-west-2:118346523422:secret:test1/flux/ca-key.pem-*"}
    for svc in ("blob", "image", "jellyfish"):
        st = sa(cfg, "qa2", svc)["attachPolicy"]["Statement"]
        # research 22.1: ListBucket names the bucket ARN
        # issue 24: only buckets of the inventory's account (a same-named bucket elsewhere is never reached)
        assert st[0] == {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::tidepool-test1-qa2-data",
                         "Condition": ACCOUNT}
        assert st[1] == {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                         "Resource": "arn:aws:s3:::tidepool-test1-qa2-data/*", "Condition": ACCOUNT}
    hy = sa(cfg, "qa2", "hydrophone")["attachPolicy"]["Statement"]
    assert hy[0] == {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::tidepool-test1-qa2-asset",
                     "Condition": ACCOUNT}
    assert hy[1] == {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::tidepool-test1-qa2-asset/*",
                     "Condition": ACCOUNT}
    assert all(st.get("Condition") == ACCOUNT for entry in cfg["iam"]["serviceAccounts"]
               for st in entry["attachPolicy"]["Statement"] if str(st["Action"]).startswith(("s3:", "['s3:"))), \
        "every S3 statement of every IRSA role carries s3:ResourceAccount"
    # issue 17: SES only from the configured identity (default: the domain of `email`)
    assert hy[2]["Resource"] == "arn:aws:ses:us-west-2:118346523422:identity/tidepool.org"
    assert "ses:*" not in str(cfg)


ACCOUNT = {"StringEquals": {"s3:ResourceAccount": "118346523422"}}


def test_named_hosted_zones_and_ses_identity_narrow_the_policies(values):
    values["aws"]["hostedZoneIds"] = ["Z0123456789ABC", "/hostedzone/ZOTHER"]
    values["aws"]["sesIdentity"] = "noreply@example.org"
    cfg = cluster_config.cluster_config(values, registry.for_values(values))
    for ns, name in (("certmanager", "certmanager"), ("external-dns", "external-dns")):
        assert sa(cfg, ns, name)["attachPolicy"]["Statement"][0]["Resource"] == [
            "arn:aws:route53:::hostedzone/Z0123456789ABC", "arn:aws:route53:::hostedzone/ZOTHER"]
    assert sa(cfg, "qa2", "hydrophone")["attachPolicy"]["Statement"][2]["Resource"] == \
        "arn:aws:ses:us-west-2:118346523422:identity/noreply@example.org"


def test_node_groups_require_imdsv2_and_keep_only_asked_addon_policies(values):
    values["cluster"]["nodeGroups"][0]["iam"]["withAddonPolicies"]["cloudWatch"] = False
    values["cluster"]["nodeGroups"] += [{"name": "ng2", "instanceType": "m5.large", "disablePodIMDS": False},
                                        {"name": "ng3", "instanceType": "m5.large"}]
    ng, ng2, ng3 = cluster_config.cluster_config(values, registry.for_values(values))["nodeGroups"]
    # addon policies work through the pod's IMDS access: eksctl refuses disablePodIMDS with them
    assert ng["disableIMDSv1"] is True and "disablePodIMDS" not in ng
    assert ng["iam"]["withAddonPolicies"] == {"autoScaler": True, "certManager": True, "externalDNS": True}
    assert ng2["disableIMDSv1"] is True and ng2["disablePodIMDS"] is False and "iam" not in ng2
    assert ng3["disableIMDSv1"] is True and ng3["disablePodIMDS"] is True


def test_bucket_overrides_reach_policies_and_release(values):
    values["environments"]["qa2"]["buckets"] = {"data": "my-data-bucket", "asset": "my-asset-bucket"}
    cfg = cluster_config.cluster_config(values, registry.for_values(values))
    assert sa(cfg, "qa2", "blob")["attachPolicy"]["Statement"][0]["Resource"] == "arn:aws:s3:::my-data-bucket"
    assert sa(cfg, "qa2", "hydrophone")["attachPolicy"]["Statement"][0]["Resource"] == "arn:aws:s3:::my-asset-bucket"
    hv = environments.tidepool_release(values, "qa2", FLAVOUR)["spec"]["values"]
    assert hv["blob"]["deployment"]["env"]["bucket"] == "my-data-bucket"
    assert hv["hydrophone"]["deployment"]["env"]["bucket"] == "my-asset-bucket"


def test_disabled_package_drops_its_irsa_account(values):
    values["pkgs"]["external-dns"]["enabled"] = False
    cfg = cluster_config.cluster_config(values, registry.for_values(values))
    assert ("external-dns", "external-dns") not in [
        (s["metadata"]["namespace"], s["metadata"]["name"]) for s in cfg["iam"]["serviceAccounts"]]


def test_identity_mappings_follow_existing_ones_without_repeating_them(values):
    values["aws"]["iamUsers"] = ["alice", "bob"]
    alice = {"arn": "arn:aws:iam::118346523422:user/alice", "username": "alice", "groups": ["system:masters"]}
    other = {"arn": "arn:aws:iam::118346523422:role/ops", "username": "ops", "groups": ["system:masters"]}
    config = cluster_config.with_identity_mappings({"iamIdentityMappings": [other, alice]}, values)
    assert [m["username"] for m in config["iamIdentityMappings"]] == ["ops", "alice", "bob"]
    full = cluster_config.eksctl_cluster_config(values, registry.for_values(values))
    assert [m["username"] for m in full["iamIdentityMappings"]] == ["alice", "bob"]
    assert "iamIdentityMappings" not in cluster_config.cluster_config(values, registry.for_values(values))
    values["aws"]["iamUsers"] = []
    assert "iamIdentityMappings" not in cluster_config.eksctl_cluster_config(values, registry.for_values(values))
