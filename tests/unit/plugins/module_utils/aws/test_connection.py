"""Unit tests of module_utils/aws (no network)."""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

from ansible_collections.tidepool.eks.plugins.module_utils.aws import connection as aws

CLEAN_ENV = {}


def test_argument_spec_shape():
    spec = aws.aws_argument_spec()
    assert spec["aws_secret_access_key"]["no_log"] is True
    assert spec["aws_session_token"]["no_log"] is True
    assert spec["endpoint_url"]["fallback"][1] == ["AWS_ENDPOINT_URL"]
    assert spec["retry_mode"]["choices"] == ["standard", "adaptive"]


def test_resolve_connection_env_fallbacks():
    env = {"AWS_ENDPOINT_URL": "http://127.0.0.1:5000", "AWS_DEFAULT_REGION": "eu-west-1",
           "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"}
    conn = aws.resolve_connection({}, environ=env)
    assert conn["endpoint_url"] == "http://127.0.0.1:5000" and conn["region"] == "eu-west-1"
    assert conn["retries"] == aws.DEFAULT_RETRIES and conn["retry_mode"] == "standard"
    explicit = aws.resolve_connection({"region": "us-west-2", "endpoint_url": "http://x"}, environ=env)
    assert explicit["region"] == "us-west-2" and explicit["endpoint_url"] == "http://x"


def test_profile_beats_environment_keys_but_not_explicit_keys():
    env = {"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"}
    assert aws.resolve_connection({"profile": "p"}, environ=env)["aws_access_key_id"] is None
    with pytest.raises(aws.AwsError, match="mutually exclusive"):
        aws.resolve_connection({"profile": "p", "aws_access_key_id": "a", "aws_secret_access_key": "b"}, environ={})
    with pytest.raises(aws.AwsError, match="together"):
        aws.resolve_connection({"aws_access_key_id": "a"}, environ={})


def test_client_has_retry_config_and_endpoint(monkeypatch):
    for var in ("AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(var, raising=False)
    cli = aws.client("secretsmanager", {"region": "us-east-1", "endpoint_url": "http://127.0.0.1:9",
                                        "aws_access_key_id": "a", "aws_secret_access_key": "b",
                                        "retries": 4, "retry_mode": "adaptive"})
    assert cli.meta.endpoint_url == "http://127.0.0.1:9"
    assert cli.meta.config.retries == {"mode": "adaptive", "total_max_attempts": 5}
    assert aws.USER_AGENT_EXTRA in cli.meta.config.user_agent_extra


def test_no_region_is_one_sentence(monkeypatch, tmp_path):
    for var in ("AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    with pytest.raises(aws.AwsError, match="No AWS region for secretsmanager"):
        aws.client("secretsmanager", {"aws_access_key_id": "a", "aws_secret_access_key": "b"})
    assert aws.client("iam", {"aws_access_key_id": "a", "aws_secret_access_key": "b"},
                      global_service=True).meta.region_name in ("us-east-1", "aws-global")


def test_unknown_profile(monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    with pytest.raises(aws.AwsError, match="profile 'nope' is not configured"):
        aws.client("s3", {"profile": "nope", "region": "us-east-1"})


def test_describe_error_messages():
    err = ClientError({"Error": {"Code": "AccessDeniedException", "Message": "User is not authorized."}},
                      "GetSecretValue")
    msg = str(aws.describe_error(err, "secretsmanager.GetSecretValue", "c/ns/n"))
    assert msg == ("secretsmanager.GetSecretValue on c/ns/n failed: AccessDeniedException: User is not authorized; "
                   "the IAM policy of these credentials must allow secretsmanager:GetSecretValue (docs/iam/).")
    ec2 = ClientError({"Error": {"Code": "UnauthorizedOperation", "Message": "You are not authorized"}}, "X")
    assert "must allow ec2:CreateVpcPeeringConnection" in str(aws.describe_error(ec2, "ec2.CreateVpcPeeringConnection"))
    s3 = ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "HeadBucket")
    assert "must allow s3:ListBucket" in str(aws.describe_error(s3, "s3.HeadBucket", "b"))
    bad_key = ClientError({"Error": {"Code": "InvalidClientTokenId", "Message": "bad"}}, "X")
    assert "check the credentials" in str(aws.describe_error(bad_key, "sts.GetCallerIdentity"))
    throttled = ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "X")
    assert "raise option retries" in str(aws.describe_error(throttled, "x.X"))
    assert "no AWS credentials" in str(aws.describe_error(NoCredentialsError(), "s3.ListBuckets"))
    conn = aws.describe_error(EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), "s3.ListBuckets")
    assert "http://127.0.0.1:1" in str(conn) and conn.code == "EndpointConnectionError"
    assert aws.error_code(err) == "AccessDeniedException" and aws.error_code(ValueError()) is None


def test_call_wraps_boto_errors_only():
    class Stub:
        def boom(self, **kw):
            raise ClientError({"Error": {"Code": "ResourceNotFoundException", "Message": "gone"}}, "Boom")

        def bug(self, **kw):
            raise KeyError("x")

    with pytest.raises(aws.AwsError) as info:
        aws.call(Stub(), "boom", "res", Secret="value-not-in-message")
    assert info.value.code == "ResourceNotFoundException" and "value-not-in-message" not in str(info.value)
    with pytest.raises(KeyError):
        aws.call(Stub(), "bug")


def test_call_counter(monkeypatch, tmp_path):
    log = tmp_path / "calls.log"
    monkeypatch.setenv(aws.CALL_LOG_ENV, str(log))
    cli = aws.client("secretsmanager", {"region": "us-east-1", "endpoint_url": "http://127.0.0.1:9",
                                        "aws_access_key_id": "a", "aws_secret_access_key": "b", "retries": 0})
    with pytest.raises(aws.AwsError):
        aws.call(cli, "list_secrets")
    assert log.read_text().splitlines() == ["secretsmanager.ListSecrets"]
