"""IRSA roles as eksctl creates them, on a cluster eksctl does not manage (aws/irsa_roles.py), against moto in
process: the OIDC provider, the trust of one service account, the ClusterConfig's policy, idempotency."""
from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from ansible_collections.tidepool.eks.plugins.module_utils.gitops import registry
from ansible_collections.tidepool.eks.plugins.module_utils.aws import irsa_roles
from ansible_collections.tidepool.eks.plugins.module_utils.config import irsa

ISSUER = "https://127.0.0.1:16443/"
VALUES = {"flux_version": 2, "email": "admin@example.com", "aws": {"accountNumber": "123456789012"},
          "cluster": {"metadata": {"name": "local", "region": "us-east-1"}},
          "pkgs": {"external-secrets": {"enabled": True}, "flux": {"enabled": True}},
          "environments": {"qa1": {}, "qa2": {}}}


@pytest.fixture
def iam(monkeypatch):
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield boto3.client("iam")


def plan(iam, values=VALUES, scope="secret_readers"):
    return irsa_roles.plan(iam, cluster="local", account="123456789012", issuer=ISSUER,
                           accounts=irsa_roles.service_account_entries(values, registry.for_values(values), scope))


def test_secret_readers_of_flux_v2_are_the_store_accounts_of_each_namespace():
    keys = [(e["metadata"]["namespace"], e["metadata"]["name"])
            for e in irsa_roles.service_account_entries(VALUES, registry.for_values(VALUES))]
    assert keys == [("qa1", "secret-store"), ("qa2", "secret-store")]
    flavour = registry.for_values(VALUES)
    assert irsa_roles.service_account_entries(VALUES, flavour, "all") == irsa.irsa_service_accounts(VALUES, flavour)


def test_roles_created_as_eksctl_would_then_unchanged(iam):
    first = plan(iam)
    assert first.changed and first.provider == "arn:aws:iam::123456789012:oidc-provider/127.0.0.1:16443"
    irsa_roles.apply(iam, first)
    name = "eksctl-local-addon-iamserviceaccount-qa1-secret-store"
    assert first.arns["qa1/secret-store"] == f"arn:aws:iam::123456789012:role/{name}"
    role = iam.get_role(RoleName=name)["Role"]
    trust = role["AssumeRolePolicyDocument"]
    trust = trust if isinstance(trust, dict) else json.loads(trust)
    statement = trust["Statement"][0]
    assert statement["Principal"]["Federated"] == first.provider
    assert statement["Condition"]["StringEquals"] == {
        "127.0.0.1:16443:sub": "system:serviceaccount:qa1:secret-store", "127.0.0.1:16443:aud": "sts.amazonaws.com"}
    policy = iam.get_role_policy(RoleName=name, PolicyName=irsa_roles.POLICY_NAME)["PolicyDocument"]
    expected = next(e["attachPolicy"] for e in irsa.irsa_service_accounts(VALUES, registry.for_values(VALUES))
                    if e["metadata"]["namespace"] == "qa1" and e["metadata"]["name"] == "secret-store")
    assert policy == expected  # the ClusterConfig's policy, not a second copy
    again = plan(iam)
    assert not again.changed and again.changes() == []


def test_a_drifted_policy_is_put_back(iam):
    irsa_roles.apply(iam, plan(iam))
    name = "eksctl-local-addon-iamserviceaccount-qa2-secret-store"
    iam.put_role_policy(RoleName=name, PolicyName=irsa_roles.POLICY_NAME,
                        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
                            {"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"}]}))
    drift = plan(iam)
    assert drift.changes() == [f"update-policy role {name} (qa2/secret-store)"]
    irsa_roles.apply(iam, drift)
    assert not plan(iam).changed


def test_long_names_are_cut_to_iams_limit():
    name = irsa_roles.role_name("a-very-long-cluster-name", "a-long-namespace-name", "secret-store")
    assert len(name) == 64 and name.startswith("eksctl-a-very-long-cluster-name-addon-")
    assert name != irsa_roles.role_name("a-very-long-cluster-name", "a-long-namespace-namf", "secret-store")
