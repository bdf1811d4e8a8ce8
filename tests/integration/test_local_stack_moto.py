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
