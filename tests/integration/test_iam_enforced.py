"""Least privilege, evaluated by AWS (moto enforcing IAM, tests/support/iam_moto.py), not by reading JSON.

A namespace's SecretStore role (flavour 2, the ClusterConfig of test2) reads its own namespace's secrets and is
denied another namespace's; the pod's web identity of one namespace cannot assume another namespace's role.
"""
from __future__ import annotations

import copy

import botocore.exceptions
import pytest

from ansible_collections.tidepool.eks.plugins.module_utils.gitops import registry
from ansible_collections.tidepool.eks.plugins.module_utils.config import cluster_config
from tests.support.iam_moto import ACCOUNT, REGION, EnforcedMoto, irsa_trust_policy, web_identity_token
from tests.support.inventory import load_values

pytestmark = pytest.mark.integration
ISSUER = "oidc.eks.us-east-1.amazonaws.com/id/TEST2"


@pytest.fixture(scope="module")
def aws(tmp_path_factory):
    with EnforcedMoto(tmp_path_factory.mktemp("iam")) as moto:
        yield moto


def code(exc_info) -> str:
    return exc_info.value.response["Error"]["Code"]


def test_enforcement_is_on(aws):
    with pytest.raises(botocore.exceptions.ClientError) as err:
        aws.client("sts", {"aws_access_key_id": "AKIAUNKNOWN", "aws_secret_access_key": "x"}).get_caller_identity()
    assert code(err) == "InvalidClientTokenId"
    nobody = aws.user("nobody", {})
    with pytest.raises(botocore.exceptions.ClientError) as err:
        aws.client("secretsmanager", nobody).list_secrets()
    assert code(err) == "AccessDeniedException"


def test_a_namespace_store_reads_its_own_secrets_and_not_another_namespaces(aws):
    values = load_values("test2")  # flux_version 2; a second environment qa3 like its qa2
    values["environments"]["qa3"] = copy.deepcopy(values["environments"]["qa2"])
    values["aws"]["accountNumber"], values["cluster"]["metadata"]["region"] = ACCOUNT, REGION  # moto's
    accounts = cluster_config.cluster_config(values, registry.for_values(values))["iam"]["serviceAccounts"]
    stores = {sa["metadata"]["namespace"]: sa for sa in accounts if sa["metadata"]["name"] == "secret-store"}
    assert {"qa2", "qa3"} <= set(stores), sorted(stores)
    sm = aws.client("secretsmanager")
    for ns in ("qa2", "qa3"):
        sm.create_secret(Name=f"test2/{ns}/x", SecretString=f"value of {ns}")
    roles = {ns: aws.role(f"test2-{ns}-secret-store", irsa_trust_policy(ISSUER, ns, "secret-store"),
                          stores[ns]["attachPolicy"]) for ns in ("qa2", "qa3")}

    creds = aws.assume_web_identity(roles["qa2"], web_identity_token(ISSUER, "qa2", "secret-store"))
    reader = aws.client("secretsmanager", creds)
    assert reader.get_secret_value(SecretId="test2/qa2/x")["SecretString"] == "value of qa2"
    with pytest.raises(botocore.exceptions.ClientError) as err:
        reader.get_secret_value(SecretId="test2/qa3/x")
    assert code(err) == "AccessDeniedException"
    assert "secretsmanager:GetSecretValue" in str(err.value)
    assert ("secretsmanager:GetSecretValue", sm.describe_secret(SecretId="test2/qa3/x")["ARN"]) in aws.denied()
    with pytest.raises(botocore.exceptions.ClientError) as err:
        reader.create_secret(Name="test2/qa2/new", SecretString="v")
    assert code(err) == "AccessDeniedException"


def test_a_namespace_service_account_cannot_assume_another_namespaces_role(aws):
    trust = irsa_trust_policy(ISSUER, "qa2", "secret-store")
    arn = aws.role("test2-qa2-only", trust, {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sts:GetCallerIdentity", "Resource": "*"}]})
    with pytest.raises(botocore.exceptions.ClientError) as err:
        aws.assume_web_identity(arn, web_identity_token(ISSUER, "qa1", "secret-store"))
    assert code(err) == "AccessDenied"
    assert aws.assume_web_identity(arn, web_identity_token(ISSUER, "qa2", "secret-store"))["aws_session_token"]
