"""cert-manager Certificates of the TLS appendix: shared ones in `default`, one per HTTPS environment."""
from __future__ import annotations

import copy

import pytest

from ansible_collections.tidepool.eks.plugins.module_utils.gitops import registry
from ansible_collections.tidepool.eks.plugins.module_utils.config import certificates
from ansible_collections.tidepool.eks.plugins.module_utils.config import environments
from ansible_collections.tidepool.eks.plugins.module_utils.config import tree
from ansible_collections.tidepool.eks.plugins.module_utils.config import validation


def values(**over):
    v = {"email": "a@example.com", "aws": {"accountNumber": "123456789012", "iamUsers": []},
         "cluster": {"metadata": {"name": "t1", "region": "us-west-2"}, "vpc": {"cidr": "10.0.0.0/16"},
                     "nodeGroups": [{"name": "ng", "instanceType": "m5.large", "desiredCapacity": 1, "minSize": 1,
                                     "maxSize": 2}]},
         "pkgs": {"certmanager": {"enabled": True}},
         "certificates": [{"name": "tidepool-cert", "dnsNames": ["*.tidepool.org"]}],
         "environments": {"qa1": {"gateway": {"default": {"protocol": "https"},
                                              "https": {"enabled": True, "dnsNames": ["qa1.example.org", "api.qa1.example.org"]}}},
                          "qa2": {}}}
    v.update(over)
    return v


def test_shared_certificate_as_the_guide_shows_it():
    (cert,) = certificates.shared(values())
    assert cert == {"apiVersion": "certmanager.k8s.io/v1alpha1", "kind": "Certificate",
                    "metadata": {"name": "tidepool-cert", "namespace": "default"},
                    "spec": {"secretName": "tidepool-cert-tls",
                             "issuerRef": {"name": "letsencrypt-staging", "kind": "ClusterIssuer"},
                             "commonName": "*.tidepool.org", "dnsNames": ["*.tidepool.org"],
                             "acme": {"config": [{"dns01": {"provider": "route53"}, "domains": ["*.tidepool.org"]}]}}}
    assert cert in tree.objects(values(), "shared", registry.for_values(values()))


def test_environment_certificate_matches_the_release_values():
    v = values()
    v["environments"]["qa1"]["certificate"] = {"issuer": "letsencrypt-production", "secret": "qa1-tls"}
    cert = certificates.for_environment(v, "qa1")
    assert cert["metadata"] == {"name": "qa1.example.org", "namespace": "qa1"}
    assert cert["spec"]["commonName"] == "qa1.example.org"
    assert cert["spec"]["dnsNames"] == ["qa1.example.org", "api.qa1.example.org"]
    assert cert["spec"]["issuerRef"]["name"] == "letsencrypt-production"
    release_values = environments.tidepool_values(v, "qa1")
    assert release_values["ingress"]["certificate"]["secretName"] == cert["spec"]["secretName"] == "qa1-tls"
    assert cert in tree.objects(v, "environments", registry.for_values(v))
    assert certificates.for_environment(v, "qa2") is None
    assert "ingress" not in environments.tidepool_values(v, "qa2")


def test_default_issuer_is_staging_and_secret_tls_secret():
    cert = certificates.for_environment(values(), "qa1")
    assert cert["spec"]["issuerRef"]["name"] == "letsencrypt-staging"
    assert cert["spec"]["secretName"] == "tls-secret"


@pytest.mark.parametrize("mutate, fragment", [
    (lambda v: v.update(certificates={"a": 1}), "certificates: must be a list"),
    (lambda v: v["certificates"].append({"name": "Bad_Name", "dnsNames": ["x.org"]}), "certificates[1].name"),
    (lambda v: v["certificates"].append({"name": "tidepool-cert", "dnsNames": ["x.org"]}), "used twice"),
    (lambda v: v["certificates"].append({"name": "c2", "dnsNames": []}), "certificates[1].dnsNames"),
    (lambda v: v["certificates"].append({"name": "c2", "dnsNames": ["x.org"], "issuer": "acme"}), "certificates[1].issuer"),
    (lambda v: v["pkgs"]["certmanager"].update(enabled=False), "pkgs.certmanager.enabled"),
    (lambda v: v["environments"]["qa1"].update(certificate={"issuer": "nope"}), "environments.qa1.certificate.issuer"),
    (lambda v: v["environments"]["qa1"]["gateway"]["https"].update(dnsNames=["bad host"]),
     "environments.qa1.gateway.https.dnsNames"),
])
def test_errors_name_the_variable(mutate, fragment):
    v = copy.deepcopy(values())
    mutate(v)
    assert any(fragment in e for e in validation.validate(v)), validation.validate(v)


def test_valid_values_have_no_certificate_errors():
    assert certificates.errors(values()) == []
