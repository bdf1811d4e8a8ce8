"""Route53 scope of cert-manager and external-dns (issue 24): the zones of the inventory's DNS names, looked up in
Route53 (moto), or one clear error; external-dns's domainFilters; the IRSA policies scoped to those zones."""
import boto3
import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.tidepool.eks.plugins.filter.route53 import route53_scope, route53_zone_error
from ansible_collections.tidepool.eks.plugins.module_utils.config import cluster_config, irsa, packages, route53
from ansible_collections.tidepool.eks.plugins.module_utils.gitops import registry

moto = pytest.importorskip("moto")


def inventory(**aws):
    return {
        "email": "ops@example.org", "aws": {"accountNumber": "123456789012", **aws},
        "cluster": {"metadata": {"name": "c1", "region": "us-west-2"}},
        "pkgs": {"certmanager": {"enabled": True}, "external-dns": {"enabled": True}},
        "environments": {
            "qa1": {"gateway": {"http": {"enabled": True, "dnsNames": ["qa1.dev.example.org", "api.qa1.dev.example.org"]},
                                "https": {"enabled": False, "dnsNames": ["off.other.example"]}}},
            "prd": {"gateway": {"https": {"enabled": True, "dnsNames": ["app.example.org"]}}}},
        "certificates": [{"name": "wild", "dnsNames": ["*.example.org"]}],
    }


def record_statement(policy):
    return next(s for s in policy["Statement"] if "route53:ChangeResourceRecordSets" in s["Action"])


def test_dns_names_and_domain_filters_come_from_the_inventory():
    values = inventory()
    assert route53.dns_names(values) == ["qa1.dev.example.org", "api.qa1.dev.example.org", "app.example.org",
                                         "*.example.org"]
    assert route53.domain_filters(values) == ["qa1.dev.example.org", "api.qa1.dev.example.org", "app.example.org",
                                              "example.org"]
    values["pkgs"]["external-dns"]["domainFilters"] = ["example.org"]
    assert route53.domain_filters(values) == ["example.org"]


@pytest.mark.parametrize("version", [1, 2])
def test_external_dns_is_rendered_with_domain_filters(version):
    values = inventory()
    docs = packages.shared_services(values, registry.flavour(version))["external-dns"]
    [release] = [d for d in docs if d["kind"] == "HelmRelease"]
    assert release["spec"]["values"]["domainFilters"] == [
        "qa1.dev.example.org", "api.qa1.dev.example.org", "app.example.org", "example.org"]


@pytest.fixture
def zones():
    """Public zones example.org and dev.example.org, a private zone example.org, another account's-looking zone."""
    with moto.mock_aws():
        r53 = boto3.client("route53", region_name="us-east-1")
        ids = {}
        for name, private in (("example.org.", False), ("dev.example.org.", False), ("example.org.", True),
                              ("other.example.", False)):
            kw = {"HostedZoneConfig": {"PrivateZone": True}, "VPC": {"VPCRegion": "us-west-2", "VPCId": "vpc-1"}} \
                if private else {}
            zone = r53.create_hosted_zone(Name=name, CallerReference=f"{name}{private}", **kw)["HostedZone"]
            ids[(name, private)] = zone["Id"].rsplit("/", 1)[-1]
        yield ids, r53.list_hosted_zones()["HostedZones"]


def test_the_zones_of_the_dns_names_are_looked_up_in_route53(zones):
    ids, listed = zones
    values = inventory()
    found = route53.resolve(route53.dns_names(values), listed)
    # the longest public zone each name ends with; the private zone of the same name is not one
    assert found["zones"] == {"qa1.dev.example.org": "dev.example.org", "api.qa1.dev.example.org": "dev.example.org",
                              "app.example.org": "example.org", "*.example.org": "example.org"}
    assert found["ids"] == [ids[("dev.example.org.", False)], ids[("example.org.", False)]]
    assert found["missing"] == [] and route53_zone_error(values, listed) == ""

    offline = cluster_config.cluster_config(values, registry.for_values(values))
    assert "arn:aws:route53:::hostedzone/*" in str(offline)
    cfg = route53_scope(offline, values, listed)
    assert "arn:aws:route53:::hostedzone/*" in str(offline)  # not changed in place
    for entry in cfg["iam"]["serviceAccounts"]:
        if entry["metadata"]["name"] in ("certmanager", "external-dns"):
            assert record_statement(entry["attachPolicy"])["Resource"] == [
                f"arn:aws:route53:::hostedzone/{z}" for z in found["ids"]]
    assert ids[("other.example.", False)] not in str(cfg) and "hostedzone/*" not in str(cfg)


def test_a_dns_name_without_a_zone_is_one_clear_error(zones):
    _ids, listed = zones
    values = inventory()
    values["environments"]["qa1"]["gateway"]["http"]["dnsNames"].append("qa1.nowhere.test")
    assert route53_zone_error(values, listed) == (
        "Route53: no public hosted zone of the account holds qa1.nowhere.test (the inventory's DNS names, "
        "environments.<env>.gateway.*.dnsNames and certificates[].dnsNames); cert-manager and external-dns are only "
        "given the zones of these names: create the zone, or name the zones in aws.hostedZoneIds")
    # no DNS name at all: the zones cannot be found either
    bare = inventory()
    bare["environments"] = {}
    bare["certificates"] = []
    assert "names no DNS name" in route53_zone_error(bare, listed)
    # named zones are not looked up
    assert route53_zone_error(inventory(hostedZoneIds=["Z1"]), []) == ""
    # the cluster step's ClusterConfig never falls back to every zone
    with pytest.raises(AnsibleFilterError, match="qa1.nowhere.test"):
        route53_scope(cluster_config.cluster_config(values, registry.for_values(values)), values, listed)
    # not looked up (zones None) or zones named: unchanged
    named = inventory(hostedZoneIds=["ZA1"])
    cfg = cluster_config.cluster_config(named, registry.for_values(named))
    assert route53_scope(cfg, named, listed) == cfg and route53_scope(cfg, values, None) == cfg
    assert route53.needs_lookup(values) and not route53.needs_lookup(inventory(hostedZoneIds=["Z1"]))


def test_offline_rendering_without_zones_and_named_zones():
    assert record_statement(irsa.route53_policy(inventory()))["Resource"] == "arn:aws:route53:::hostedzone/*"
    named = irsa.route53_policy(inventory(hostedZoneIds=["/hostedzone/ZA1", "ZB2"]))
    assert record_statement(named)["Resource"] == ["arn:aws:route53:::hostedzone/ZA1",
                                                   "arn:aws:route53:::hostedzone/ZB2"]
