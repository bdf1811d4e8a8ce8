"""The config renderer against the install guide's test1 example, field by field."""
from __future__ import annotations

import copy

import pytest
import yaml

from ansible_collections.tidepool.eks.plugins.module_utils.config import catalogue
from ansible_collections.tidepool.eks.plugins.module_utils.config import model as config_model
from ansible_collections.tidepool.eks.plugins.module_utils.common import naming
from tests.support.inventory import load_values


@pytest.fixture()
def values():
    return load_values("test1")


def sa(cfg, ns, name):
    [acct] = [s for s in cfg["iam"]["serviceAccounts"] if s["metadata"]["namespace"] == ns
              and s["metadata"]["name"] == name]
    return acct


def test_seed_values_are_valid(values):
    assert config_model.validate(values) == []


def test_cluster_config_metadata_nodegroups_vpc(values):
    cfg = config_model.cluster_config(values)
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
    cfg = config_model.cluster_config(values)
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
    cfg = config_model.cluster_config(values)
    ca = sa(cfg, "kube-system", "cluster-autoscaler")["attachPolicy"]["Statement"]
    assert ca == [{"Effect": "Allow", "Resource": "*", "Action": [
        "autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeAutoScalingInstances",
        "autoscaling:DescribeLaunchConfigurations", "autoscaling:DescribeTags",
        "autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"]}]
    for ns, name in (("certmanager", "certmanager"), ("external-dns", "external-dns")):
        st = sa(cfg, ns, name)["attachPolicy"]["Statement"]
        assert st[0] == {"Effect": "Allow", "Action": ["route53:ChangeResourceRecordSets"],
                         "Resource": "arn:aws:route53:::hostedzone/*"}
        assert st[1]["Resource"] == "*" and set(st[1]["Action"]) == {
            "route53:GetChange", "route53:ListHostedZones", "route53:ListResourceRecordSets",
            "route53:ListHostedZonesByName"}
    # ARNs from the inventory's account and region, not arn:aws:logs:*:*:*
    cw = sa(cfg, "amazon-cloudwatch", "cloudwatch")["attachPolicy"]["Statement"]
    assert cw[0]["Resource"] == "arn:aws:logs:us-west-2:118346523422:*"
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
        assert st[0] == {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::tidepool-test1-qa2-data"}
        assert st[1] == {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                         "Resource": "arn:aws:s3:::tidepool-test1-qa2-data/*"}
    hy = sa(cfg, "qa2", "hydrophone")["attachPolicy"]["Statement"]
    assert hy[0] == {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::tidepool-test1-qa2-asset"}
    assert hy[1] == {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::tidepool-test1-qa2-asset/*"}
    assert hy[2]["Resource"] == "arn:aws:ses:us-west-2:118346523422:identity/*"
    assert "ses:*" not in str(cfg)


def test_bucket_overrides_reach_policies_and_release(values):
    values["environments"]["qa2"]["buckets"] = {"data": "my-data-bucket", "asset": "my-asset-bucket"}
    cfg = config_model.cluster_config(values)
    assert sa(cfg, "qa2", "blob")["attachPolicy"]["Statement"][0]["Resource"] == "arn:aws:s3:::my-data-bucket"
    assert sa(cfg, "qa2", "hydrophone")["attachPolicy"]["Statement"][0]["Resource"] == "arn:aws:s3:::my-asset-bucket"
    hv = config_model.tidepool_release(values, "qa2")["spec"]["values"]
    assert hv["blob"]["deployment"]["env"]["bucket"] == "my-data-bucket"
    assert hv["hydrophone"]["deployment"]["env"]["bucket"] == "my-asset-bucket"


def test_disabled_package_drops_its_irsa_account(values):
    values["pkgs"]["external-dns"]["enabled"] = False
    cfg = config_model.cluster_config(values)
    assert ("external-dns", "external-dns") not in [
        (s["metadata"]["namespace"], s["metadata"]["name"]) for s in cfg["iam"]["serviceAccounts"]]


def test_tidepool_helmrelease(values):
    hr = config_model.tidepool_release(values, "qa2")
    assert hr["apiVersion"] == "helm.fluxcd.io/v1" and hr["kind"] == "HelmRelease"
    assert hr["metadata"]["name"] == "tidepool" and hr["metadata"]["namespace"] == "qa2"
    assert hr["spec"]["releaseName"] == "qa2-tidepool"
    assert hr["spec"]["chart"] == {"git": "git@github.com:tidepool-org/development",
                                   "path": "charts/tidepool/0.1.7", "ref": "k8s"}
    ann = hr["metadata"]["annotations"]
    assert ann["fluxcd.io/automated"] == "true"
    tags = {k: v for k, v in ann.items() if k.startswith("fluxcd.io/tag.")}
    assert len(catalogue.TIDEPOOL_SERVICES) == 19
    assert tags == {f"fluxcd.io/tag.{s}": "glob:develop-*" for s in catalogue.TIDEPOOL_SERVICES}
    v = hr["spec"]["values"]
    assert v["global"]["cluster"] == {"name": "test1", "region": "us-west-2"}
    assert v["global"]["environment"]["store"] == {"type": "s3"}
    assert v["global"]["environment"]["hpa"] == {"create": True}
    assert v["global"]["environment"]["hosts"] == {
        "default": {"protocol": "http"},
        "http": {"enabled": True, "port": "8080", "dnsNames": ["localhost"]},
        "https": {"enabled": False, "port": "8443", "dnsNames": []},
    }
    assert v["global"]["gateway"]["default"] == {"protocol": "http", "host": "localhost"}
    for svc in ("blob", "image", "jellyfish"):
        assert v[svc]["deployment"]["env"]["bucket"] == "tidepool-test1-qa2-data"
    assert v["hydrophone"]["deployment"]["env"]["bucket"] == "tidepool-test1-qa2-asset"
    assert v["mongodb"] == {"enabled": True}
    assert v["nosqlclient"] == {"enabled": True}
    assert v["gloo"] == {"enabled": False}


def test_gitops_per_service_override_and_hpa_off(values):
    env = values["environments"]["qa2"]
    env["gitops"] = {"branch": "master", "blip": "glob:release-1.23.0*"}
    env["hpa"] = {"enabled": False}
    hr = config_model.tidepool_release(values, "qa2")
    assert hr["metadata"]["annotations"]["fluxcd.io/tag.blip"] == "glob:release-1.23.0*"
    assert hr["metadata"]["annotations"]["fluxcd.io/tag.auth"] == "glob:master-*"
    assert hr["spec"]["values"]["global"]["environment"]["hpa"] == {"create": False}


def test_shoreline_configmap_only_when_demo_user_set(values):
    kinds = [o["kind"] for o in config_model.environment(values, "qa2")]
    assert kinds == ["Namespace", "HelmRelease"]
    values["environments"]["qa2"]["clinicDemoUserId"] = "e79b15328a"
    [cm] = [o for o in config_model.environment(values, "qa2") if o["kind"] == "ConfigMap"]
    assert cm == {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "shoreline", "namespace": "qa2"},
                  "data": {"ClinicDemoUserId": "e79b15328a"}}


def test_tree_layout_and_enabled_packages(values):
    tree = config_model.render_tree(values)
    assert "clusters/test1/eksctl/cluster-config.yaml" in tree
    flux = naming.flux_path("test1")
    pkgs = {p.split("/")[4] for p in tree if p.startswith(f"{flux}/shared/")}
    assert pkgs == set(config_model.enabled_pkgs(values))
    assert not pkgs & {"datadog", "fluxcloud", "sumologic"}
    # Nothing but Kubernetes objects under the Flux path; the ClusterConfig is outside it.
    for path, obj in tree.items():
        assert path.startswith(flux + "/") == (obj["kind"] != "ClusterConfig"), path
    # every namespaced object's namespace is created by the tree or is kube-system
    namespaces = {o["metadata"]["name"] for o in tree.values() if o["kind"] == "Namespace"} | {"kube-system"}
    for obj in tree.values():
        ns = obj["metadata"].get("namespace")
        assert ns is None or ns in namespaces, (obj["kind"], obj["metadata"])
    assert f"{flux}/environments/qa2/helmrelease-tidepool.yaml" in tree


def test_package_values_override_merges_into_helmrelease(values):
    values["pkgs"]["external-dns"]["values"] = {"domainFilters": ["tidepool.org"], "aws": {"zoneType": "private"}}
    [hr] = [o for o in config_model.shared_services(values)["external-dns"] if o["kind"] == "HelmRelease"]
    assert hr["spec"]["values"]["domainFilters"] == ["tidepool.org"]
    assert hr["spec"]["values"]["aws"] == {"zoneType": "private", "region": "us-west-2"}


def test_several_clusters_share_one_repository():
    a, b = load_values("test1"), load_values("local")
    ta, tb = config_model.render_tree(a), config_model.render_tree(b)
    assert not set(ta) & set(tb)
    assert all(p.startswith("clusters/test1/") for p in ta) and all(p.startswith("clusters/local/") for p in tb)


def test_commit_message_names_units():
    msg = config_model.commit_message("test1", "A\tclusters/test1/eksctl/cluster-config.yaml\n"
                                               "M\tclusters/test1/flux/environments/qa2/helmrelease-tidepool.yaml\n"
                                               "D\tclusters/test1/flux/shared/datadog/namespace-datadog.yaml\n")
    subject = msg.splitlines()[0]
    assert subject == ("test1 config: update ClusterConfig, environment qa2, shared/datadog "
                       "(1 added, 1 changed, 1 removed)")
    assert "D clusters/test1/flux/shared/datadog/namespace-datadog.yaml" in msg


BAD_INPUTS = [
    (lambda v: v["cluster"]["metadata"].update(name="Test_1"), "cluster.metadata.name"),
    (lambda v: v["cluster"]["metadata"].update(name="1test"), "cluster.metadata.name"),
    (lambda v: v["cluster"]["metadata"].update(name="a" * 101), "cluster.metadata.name"),
    (lambda v: v["cluster"]["metadata"].update(region="west"), "cluster.metadata.region"),
    (lambda v: v["cluster"]["metadata"].update(version="1.14"), "cluster.metadata.version"),
    (lambda v: v["cluster"]["vpc"].update(cidr="10.47.0.0/33"), "cluster.vpc.cidr"),
    (lambda v: v["cluster"]["vpc"].update(cidr="10.47.0.1/16"), "cluster.vpc.cidr"),
    (lambda v: v["cluster"]["vpc"].update(cidr="10.47.0.0/8"), "cluster.vpc.cidr"),
    (lambda v: v["cluster"]["vpc"].update(cidr="8.8.0.0/16"), "cluster.vpc.cidr"),
    (lambda v: v["cluster"]["nodeGroups"][0].update(minSize=5, desiredCapacity=4), "cluster.nodeGroups[0]"),
    (lambda v: v["cluster"]["nodeGroups"].append(dict(v["cluster"]["nodeGroups"][0])), "cluster.nodeGroups[1].name"),
    (lambda v: v["aws"].update(accountNumber="1234"), "aws.accountNumber"),
    (lambda v: v.update(email="not-an-email"), "email"),
    (lambda v: v["pkgs"].update(foo={"enabled": True}), "pkgs.foo"),
    (lambda v: v["pkgs"]["gloo"].update(enabled="yes"), "pkgs.gloo.enabled"),
    (lambda v: v["environments"].update(QA_2={}), "environments.QA_2"),
    (lambda v: v["environments"].update({"kube-system": {}}), "environments.kube-system"),
    (lambda v: v["environments"].update({"e" * 50: {}}), "environments." + "e" * 50),
    (lambda v: v["environments"]["qa2"]["buckets"].update(data="Bad_Bucket"), "environments.qa2.buckets.data"),
    (lambda v: v["environments"]["qa2"]["gateway"]["default"].update(protocol="https"), "environments.qa2.gateway.https"),
    (lambda v: v["environments"]["qa2"]["gateway"]["default"].update(protocol="ftp"),
     "environments.qa2.gateway.default.protocol"),
]


@pytest.mark.parametrize("mutate,variable", BAD_INPUTS, ids=[b[1] + f"#{i}" for i, b in enumerate(BAD_INPUTS)])
def test_bad_input_names_the_variable(values, mutate, variable):
    bad = copy.deepcopy(values)
    mutate(bad)
    errors = config_model.validate(bad)
    assert len(errors) == 1, errors
    assert errors[0].startswith(variable + ":") or errors[0].startswith(variable + " "), errors


def test_cluster_objects_reuse_the_rendered_namespaces(values):
    objs = config_model.objects(values, "cluster")
    assert [o["kind"] for o in objs] == sorted((o["kind"] for o in objs), key=lambda k: k != "Namespace")
    ns = {o["metadata"]["name"]: o for o in objs if o["kind"] == "Namespace"}
    rendered = {o["metadata"]["name"]: o for o in config_model.objects(values, "shared")
                + config_model.objects(values, "environments") if o["kind"] == "Namespace"}
    assert ns["certmanager"] == rendered["certmanager"]  # same labels: applying both parts converges
    sas = {(o["metadata"]["namespace"], o["metadata"]["name"]) for o in objs if o["kind"] == "ServiceAccount"}
    assert ("qa2", "hydrophone") in sas and ("kube-system", "cluster-autoscaler") in sas
    with pytest.raises(ValueError, match="part"):
        config_model.objects(values, "nodes")


def test_shared_objects_put_crds_and_namespaces_first(values):
    kinds = [o["kind"] for o in config_model.objects(values, "shared")]
    first_other = next(i for i, k in enumerate(kinds) if k not in ("CustomResourceDefinition", "Namespace"))
    assert "CustomResourceDefinition" not in kinds[first_other:] and "Namespace" not in kinds[first_other:]


def test_render_once_gives_the_tree_and_the_objects_of_every_part(values):
    rendered = config_model.render(values)
    assert rendered["tree"] == config_model.render_tree(values)
    for part in ("cluster", "shared", "environments"):
        assert rendered["objects"][part] == config_model.objects(values, part)
