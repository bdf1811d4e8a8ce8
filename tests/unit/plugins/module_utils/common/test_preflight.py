"""preflight: the no-credentials message names the host and region, and says what to configure."""
from ansible_collections.tidepool.eks.plugins.module_utils.common import preflight


def test_warning_when_credentials_are_optional():
    msg = preflight.no_credentials_message("test1", "us-west-2", required=False)
    assert msg.startswith("No AWS credentials are configured for test1 (region us-west-2): the steps that call AWS end here.")
    assert "aws_profile" in msg and "aws_credentials_required: true" in msg


def test_error_when_credentials_are_required():
    msg = preflight.no_credentials_message("test1", "us-west-2", required=True)
    assert msg.startswith("aws_credentials_required: no AWS credentials are configured for test1 (region us-west-2);")


def test_without_host_or_region():
    assert preflight.no_credentials_message(None, None, required=True).startswith(
        "aws_credentials_required: no AWS credentials are configured; configure")
