"""Strict input: the JSON Schema of the inventory values (config/values_schema.py) and the rules after it
(config/validation.py). Each bad input gives exactly one message, starting with the key path at fault."""
from __future__ import annotations

import copy
import re

import pytest

from ansible_collections.tidepool.eks.plugins.module_utils.gitops import registry
from ansible_collections.tidepool.eks.plugins.module_utils.common import naming
from ansible_collections.tidepool.eks.plugins.module_utils.config import tree
from ansible_collections.tidepool.eks.plugins.module_utils.config import validation
from ansible_collections.tidepool.eks.plugins.module_utils.config import values_schema
from tests.support.inventory import load_values, the_one_error


@pytest.fixture()
def values():
    return load_values("test1")


def _qa3(v, **conf):
    v["environments"]["qa3"] = {**copy.deepcopy(v["environments"]["qa2"]), **conf}


def _https(v, env, names):
    v["pkgs"]["certmanager"]["enabled"] = True
    v["environments"][env]["gateway"]["https"] = {"enabled": True, "dnsNames": names}


def _rename(d, old, new):
    d[new] = d.pop(old)


# (kind of problem, mutation of test1's values, key path, fragment of the one message)
BAD = [
    # unknown keys, with "did you mean" for near misses
    ("top-level typo", lambda v: _rename(v, "environments", "enviroments"),
     "enviroments", "unknown key; did you mean environments?"),
    ("cluster key typo", lambda v: _rename(v["cluster"], "nodeGroups", "nodegroups"),
     "cluster.nodegroups", "did you mean nodeGroups?"),
    ("node group key typo", lambda v: _rename(v["cluster"]["nodeGroups"][0], "desiredCapacity", "desiredCapcity"),
     "cluster.nodeGroups[0].desiredCapcity", "did you mean desiredCapacity?"),
    ("addon policy typo", lambda v: _rename(v["cluster"]["nodeGroups"][0]["iam"]["withAddonPolicies"], "autoScaler",
                                            "autoscaler"),
     "cluster.nodeGroups[0].iam.withAddonPolicies.autoscaler", "did you mean autoScaler?"),
    ("package typo", lambda v: _rename(v["pkgs"], "gloo", "glo"), "pkgs.glo", "unknown package; did you mean gloo?"),
    ("unknown package", lambda v: v["pkgs"].update(istio={"enabled": True}), "pkgs.istio",
     "unknown package; known packages are amazon-cloudwatch"),
    ("package setting typo", lambda v: _rename(v["pkgs"]["gloo"], "enabled", "enable"),
     "pkgs.gloo.enable", "did you mean enabled?"),
    ("environment setting typo", lambda v: _rename(v["environments"]["qa2"]["gateway"], "https", "htps"),
     "environments.qa2.gateway.htps", "did you mean https?"),
    ("image automation service typo", lambda v: v["environments"]["qa2"]["gitops"].update(blipp="glob:x-*"),
     "environments.qa2.gitops.blipp", "did you mean blip?"),
    ("chart override typo", lambda v: v["environments"]["qa2"].update(chart={"reff": "v1"}),
     "environments.qa2.chart.reff", "did you mean ref?"),
    ("peering option typo (not also 'peer_vpc_id required')",
     lambda v: v["environments"]["qa2"].update(peering=[{"peer_vpcid": "vpc-1"}]),
     "environments.qa2.peering[0].peer_vpcid", "did you mean peer_vpc_id?"),
    ("aws key typo", lambda v: _rename(v["aws"], "iamUsers", "iamusers"), "aws.iamusers", "did you mean iamUsers?"),
    # names: anchored, ASCII
    ("cluster name with a trailing newline", lambda v: v["cluster"]["metadata"].update(name="test1\n"),
     "cluster.metadata.name", "is not a valid EKS cluster name"),
    ("account with a non-ASCII digit", lambda v: v["aws"].update(accountNumber="11834652342\u0662"),
     "aws.accountNumber", "12-digit AWS account id"),
    ("account too short as a number", lambda v: v["aws"].update(accountNumber=1234), "aws.accountNumber",
     "12-digit AWS account id"),
    ("region with a trailing newline", lambda v: v["cluster"]["metadata"].update(region="us-west-2\n"),
     "cluster.metadata.region", "is not an AWS region name"),
    ("environment name with a trailing newline", lambda v: _rename(v["environments"], "qa2", "qa2\n"),
     "environments['qa2\\n']", "is not a valid environment name"),
    ("environment name with a non-ASCII letter", lambda v: _rename(v["environments"], "qa2", "q\u00e42"),
     "environments['q\u00e42']", "is not a valid environment name"),
    ("email with a trailing newline", lambda v: v.update(email="derrick@tidepool.org\n"), "email",
     "is not an email address"),
    ("IAM user with a space", lambda v: v["aws"]["iamUsers"].append("bad user"), "aws.iamUsers[5]",
     "is not an IAM user name"),
    ("gateway host in upper case", lambda v: v["environments"]["qa2"]["gateway"]["http"].update(dnsNames=["QA2.org"]),
     "environments.qa2.gateway.http.dnsNames[0]", "is not a host name"),
    # wrong types: one message naming the key path (several raised AttributeError before)
    ("gateway not a dict", lambda v: v["environments"]["qa2"].update(gateway="http"),
     "environments.qa2.gateway", "must be a dict with default, http and https, not a string"),
    ("gateway.default not a dict", lambda v: v["environments"]["qa2"]["gateway"].update(default="https"),
     "environments.qa2.gateway.default", "must be a dict {protocol: http|https}, not a string"),
    ("gateway.http a list", lambda v: v["environments"]["qa2"]["gateway"].update(http=["localhost"]),
     "environments.qa2.gateway.http", "must be a dict {enabled, dnsNames}, not a list"),
    ("package settings a string", lambda v: v["pkgs"].update(certmanager="yes"), "pkgs.certmanager",
     "not a string"),
    ("vpc a string", lambda v: v["cluster"].update(vpc="10.47.0.0/16"), "cluster.vpc", "not a string"),
    ("aws a string", lambda v: v.update(aws="118346523422"), "aws", "must be a dict with accountNumber"),
    ("node group size a string", lambda v: v["cluster"]["nodeGroups"][0].update(minSize="1"),
     "cluster.nodeGroups[0].minSize", "must be a non-negative integer, not a string"),
    ("flag a string", lambda v: v["environments"]["qa2"]["hpa"].update(enabled="yes"),
     "environments.qa2.hpa.enabled", "must be true or false"),
    ("environments a list", lambda v: v.update(environments=["qa2"]), "environments", "not a list"),
    ("certificates a dict", lambda v: v.update(certificates={"name": "x"}), "certificates", "not a dict"),
    ("log level unknown", lambda v: v.update(logLevel="verbose"), "logLevel", "must be one of trace, debug"),
    ("flux_version 3", lambda v: v.update(flux_version=3), "flux_version", "must be one of 1, 2"),
    ("required key missing", lambda v: v["cluster"]["metadata"].pop("region"), "cluster.metadata.region",
     "required, an AWS region name"),
    # derived names
    ("bucket override too long", lambda v: v["environments"]["qa2"]["buckets"].update(data="b" * 64),
     "environments.qa2.buckets.data", "is not a valid S3 bucket name"),
    ("bucket override in upper case", lambda v: v["environments"]["qa2"]["buckets"].update(asset="Tidepool-Asset"),
     "environments.qa2.buckets.asset", "is not a valid S3 bucket name"),
    ("default buckets too long (long cluster name)", lambda v: v["cluster"]["metadata"].update(name="c" * 50),
     "environments.qa2.buckets", "are not valid S3 bucket names"),
    ("default buckets in upper case (cluster name)", lambda v: v["cluster"]["metadata"].update(name="Test1"),
     "environments.qa2.buckets", "set environments.qa2.buckets.data and environments.qa2.buckets.asset"),
    ("cluster name too long for a label value", lambda v: (v["cluster"]["metadata"].update(name="c" * 64),
                                                           v["environments"]["qa2"].update(buckets={
                                                               "data": "qa2-data", "asset": "qa2-asset"})),
     "cluster.metadata.name", "must also be a Kubernetes label value"),
    ("cluster name ending in a hyphen", lambda v: v["cluster"]["metadata"].update(name="test1-"),
     "cluster.metadata.name", "ending in a letter or digit"),
    ("Helm release name too long", lambda v: v["environments"].update({"e" * 45: {}}), "environments." + "e" * 45,
     "exceeds 53 characters"),
    # duplicates
    ("bucket override shared by two environments", lambda v: (v["environments"]["qa2"].update(buckets={"data": "shared-data"}),
                                                              _qa3(v, buckets={"data": "shared-data"})),
     "environments.qa3.buckets.data", "is also environments.qa2.buckets.data"),
    ("bucket override equal to another environment's default", lambda v: _qa3(v, buckets={"asset": "tidepool-test1-qa2-data"}),
     "environments.qa3.buckets.asset", "is also environments.qa2.buckets.data"),
    ("data and asset bucket the same", lambda v: v["environments"]["qa2"].update(buckets={"data": "one", "asset": "one"}),
     "environments.qa2.buckets.asset", "is also environments.qa2.buckets.data"),
    ("dnsNames listed twice", lambda v: _https(v, "qa2", ["qa2.example.org", "qa2.example.org"]),
     "environments.qa2.gateway.https.dnsNames", "'qa2.example.org' is listed twice"),
    ("host served by two environments", lambda v: (_https(v, "qa2", ["app.example.org"]),
                                                   _qa3(v, gateway=copy.deepcopy(v["environments"]["qa2"]["gateway"]))),
     "environments.qa3.gateway.https.dnsNames", "is also served by environments.qa2.gateway.https.dnsNames"),
    ("certificate dnsNames listed twice", lambda v: v.update(certificates=[{"name": "c", "dnsNames": ["a.org", "a.org"]}]),
     "certificates[0].dnsNames", "'a.org' is listed twice"),
    ("IAM user listed twice", lambda v: v["aws"]["iamUsers"].append("benderr-cli"), "aws.iamUsers",
     "'benderr-cli' is listed twice"),
    ("node group listed twice (managed too)", lambda v: v["cluster"].update(managedNodeGroups=[{"name": "ng"}]),
     "cluster.managedNodeGroups[0].name", "is listed twice (also cluster.nodeGroups[0])"),
    # node group sizes
    ("minSize above maxSize", lambda v: v["cluster"]["nodeGroups"][0].update(minSize=5, maxSize=3) or v["cluster"]["nodeGroups"][0].pop("desiredCapacity"),
     "cluster.nodeGroups[0]", "got minSize=5, maxSize=3"),
    ("desiredCapacity above maxSize", lambda v: v["cluster"]["nodeGroups"][0].update(desiredCapacity=11),
     "cluster.nodeGroups[0]", "minSize <= desiredCapacity <= maxSize (got minSize=1, desiredCapacity=11, maxSize=10)"),
    ("managed node group sizes", lambda v: v["cluster"].update(managedNodeGroups=[{"name": "m", "minSize": 2,
                                                                                  "desiredCapacity": 1}]),
     "cluster.managedNodeGroups[0]", "got minSize=2, desiredCapacity=1"),
]


@pytest.mark.parametrize("mutate,path,fragment", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_each_bad_input_is_one_error_naming_the_key_path(values, mutate, path, fragment):
    error = the_one_error(values, mutate)
    assert error.startswith(path + ":") and fragment in error, error


def test_the_table_covers_at_least_25_kinds():
    assert len({b[0] for b in BAD}) >= 25


@pytest.mark.parametrize("names,expected", [
    (["enviroments"], ["enviroments: unknown inventory key; did you mean environments?"]),
    (["loglevel", "pkg"], ["loglevel: unknown inventory key; did you mean logLevel?",
                           "pkg: unknown inventory key; did you mean pkgs?"]),
    (["Email"], ["Email: unknown inventory key; did you mean email?"]),
])
def test_a_host_variable_that_looks_like_a_misspelt_key_is_an_error(values, names, expected):
    assert validation.validate(values, names + ["cluster_provider", "groups"]) == expected


def test_other_host_variables_are_not_keys():
    """The host's variables mix values.yml keys with every other variable: only near misses are errors."""
    names = ["email", "aws", "cluster", "pkgs", "environments", "certificates", "kubeconfig", "logLevel",
             "flux_version", "kubeconfig_context", "cluster_provider", "config_repo_url", "config_repo_branch",
             "assets_environments", "aws_profile", "aws_endpoint_url", "peering", "github_repository", "groups",
             "group_names", "inventory_hostname", "inventory_values", "playbook_dir", "ansible_facts"]
    assert values_schema.unknown_variables(names) == []


def _with_docs_examples(v):
    """The keys docs/ shows: certificates and an environment certificate (flux.md), peering (peering.md), other
    eksctl keys (inventory.md), a managed node group, an environment without settings, flux_version."""
    v["certificates"] = [{"name": "tidepool-cert", "dnsNames": ["*.tidepool.org"], "issuer": "letsencrypt-staging",
                          "secretName": "tidepool-tls"}]
    first = sorted(v["environments"])[0]
    v["environments"]["qa9"] = {"gateway": {"default": {"protocol": "https"},
                                            "https": {"enabled": True, "dnsNames": ["qa9.tidepool.org"]}},
                                "certificate": {"issuer": "letsencrypt-staging", "secret": "tls-secret"},
                                "peering": [{"peer_vpc_id": "vpc-0123abcd4567ef890"}]}
    v["environments"]["qa8"] = None
    v["environments"][first]["buckets"] = {"data": "tidepool-test-data", "asset": "tidepool-test-asset"}
    v["environments"][first]["gitops"]["blip"] = "glob:master-*"
    v["pkgs"]["certmanager"]["enabled"] = True
    v["cluster"]["availabilityZones"] = ["us-west-2a", "us-west-2b"]
    v["cluster"]["cloudWatch"] = {"clusterLogging": {"enableTypes": ["api"]}}
    v["cluster"]["managedNodeGroups"] = [{"name": "mng", "instanceType": "t3.large", "minSize": 1, "maxSize": 3,
                                          "desiredCapacity": 2}]
    v["cluster"]["metadata"]["tags"] = {"team": "platform"}
    v["pkgs"]["external-dns"]["domainFilters"] = ["tidepool.org"]
    v["pkgs"]["reloader"]["chart"] = {"ref": "v0.0.99"}
    v["aws"]["accountNumber"] = 118346523422
    v["flux_version"] = 1   # local enables linkerd-crds, which flavour 1 accepts and renders nothing for
    return v


@pytest.mark.parametrize("host", ["test1", "local"])
def test_shipped_inventories_and_docs_examples_are_accepted(host):
    assert validation.validate(load_values(host)) == []
    v = _with_docs_examples(load_values(host))
    assert validation.validate(v) == []
    tree.render_tree(v, registry.for_values(v))   # and they render


def test_schema_patterns_are_anchored_and_ascii():
    """Every pattern of the schema and of common/naming.py refuses a trailing newline and non-ASCII digits."""
    patterns = []

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("pattern"), str):
                patterns.append(node["pattern"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
    walk(values_schema.SCHEMA)
    patterns += [naming.CLUSTER_NAME_PATTERN, naming.DNS_LABEL_PATTERN, naming.DNS_SUBDOMAIN_PATTERN,
                 naming.BUCKET_NAME_PATTERN]
    assert len(patterns) > 10
    for pattern in patterns:
        assert pattern.startswith(r"\A") and pattern.endswith(r"\Z"), pattern
        assert r"\d" not in pattern and r"\w" not in pattern, pattern
    for regex in (naming.CLUSTER_NAME_RE, naming.DNS_LABEL_RE, naming.BUCKET_NAME_RE):
        assert regex.flags & re.ASCII
    assert not naming.DNS_LABEL_RE.match("qa2\n") and not naming.CLUSTER_NAME_RE.match("test1\n")


def test_missing_jsonschema_is_one_clear_error(values, monkeypatch):
    monkeypatch.setattr(values_schema, "HAS_JSONSCHEMA", False)
    with pytest.raises(values_schema.SchemaUnavailable, match="jsonschema is required"):
        validation.validate(values)
