"""The moto part of the local stack: a real AWS-compatible endpoint on loopback, reset on demand."""
import os
import urllib.parse

import boto3
import pytest

pytestmark = pytest.mark.integration


def test_moto_endpoint_is_loopback_and_exported(moto_server):
    url = urllib.parse.urlparse(moto_server)
    assert url.hostname == "127.0.0.1"
    assert os.environ["AWS_ENDPOINT_URL"] == moto_server
    assert os.environ["AWS_ACCESS_KEY_ID"] == "testing"
    assert os.environ["AWS_DEFAULT_REGION"] == "us-east-1"


def test_services_answer_and_reset_forgets_state(moto_reset):
    # boto3 picks the endpoint up from AWS_ENDPOINT_URL like the collection's modules do.
    sm = boto3.client("secretsmanager")
    s3 = boto3.client("s3")
    sm.create_secret(Name="local-stack/probe", SecretString='{"a": "b"}')
    s3.create_bucket(Bucket="local-stack-probe")
    assert boto3.client("sts").get_caller_identity()["Account"] == "123456789012"
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["local-stack-probe"]
    for service, call in (("ec2", "describe_vpcs"), ("iam", "list_roles"), ("cloudformation", "list_stacks"),
                          ("eks", "list_clusters")):
        getattr(boto3.client(service), call)()

    from local_stack import reset_moto
    reset_moto()
    assert s3.list_buckets()["Buckets"] == []
    assert sm.list_secrets()["SecretList"] == []


def test_aws_state_survives_down_and_up_and_reset_forgets_it(tmp_path):
    """`down` then `up` brings back every bucket, object and secret value (moto's recorder, replayed);
    `reset` forgets them for good."""
    from local_stack import Stack, StackError  # noqa: F401

    stack = Stack.ephemeral(tmp_path / "stack")
    stack.up("moto")
    try:
        kw = dict(endpoint_url=stack.aws_endpoint, region_name="us-east-1",
                  aws_access_key_id="testing", aws_secret_access_key="testing")
        sm, s3 = boto3.client("secretsmanager", **kw), boto3.client("s3", **kw)
        value = '{"password": "p-\\u00e9-%s"}' % os.urandom(8).hex()
        sm.create_secret(Name="local/qa1/auth", SecretString=value)
        sm.put_secret_value(SecretId="local/qa1/auth", SecretString=value + " ")
        sm.create_secret(Name="local/qa1/gone", SecretString="x")
        sm.delete_secret(SecretId="local/qa1/gone", ForceDeleteWithoutRecovery=True)
        s3.create_bucket(Bucket="persist-probe")
        s3.put_bucket_versioning(Bucket="persist-probe", VersioningConfiguration={"Status": "Enabled"})
        s3.put_object(Bucket="persist-probe", Key="dir/a b.txt", Body=b"\x00binary\xff")
        for _ in range(20):  # reads are not replayed
            sm.get_secret_value(SecretId="local/qa1/auth")

        stack.down("moto")
        stack.up("moto")
        assert stack.moto_replayed and stack.moto_replayed[0] == 7, stack.moto_replayed
        assert sm.get_secret_value(SecretId="local/qa1/auth")["SecretString"] == value + " "
        assert [s["Name"] for s in sm.list_secrets()["SecretList"]] == ["local/qa1/auth"]
        assert s3.get_bucket_versioning(Bucket="persist-probe")["Status"] == "Enabled"
        assert s3.get_object(Bucket="persist-probe", Key="dir/a b.txt")["Body"].read() == b"\x00binary\xff"

        # a running, healthy moto is never restarted by `up` (its state is in memory)
        pid = stack.status()["moto"]["pid"]
        stack.up("moto")
        assert stack.status()["moto"]["pid"] == pid

        from local_stack import reset_moto
        reset_moto(stack.aws_endpoint)
        stack.down("moto")
        stack.up("moto")
        assert s3.list_buckets()["Buckets"] == [] and sm.list_secrets()["SecretList"] == []
    finally:
        stack.down()
