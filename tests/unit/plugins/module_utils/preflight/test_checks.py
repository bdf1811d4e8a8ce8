"""preflight: the no-credentials message names the host and region, and says what to configure."""
from ansible_collections.tidepool.eks.plugins.module_utils.preflight import checks as preflight


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


# --- the right account, the right cluster -------------------------------------------------------------------------

import pytest  # noqa: E402


def test_account_mismatch_names_both():
    answer = {"credentials": True, "account": "210987654321", "arn": "arn:aws:iam::210987654321:user/x"}
    with pytest.raises(preflight.WrongTargetError) as err:
        preflight.check_account(answer, "123456789012", "test1")
    assert "account 210987654321 (arn:aws:iam::210987654321:user/x)" in str(err.value)
    assert "the inventory of test1 names aws.accountNumber 123456789012" in str(err.value)
    preflight.check_account(dict(answer, account="123456789012"), "123456789012")
    preflight.check_account({"credentials": False}, "123456789012")


TARGET = {"kubeconfig": "/k", "context": "ctx", "server": "https://A.eks.amazonaws.com", "ca_data": "Q0E=\n"}


def test_eks_endpoint_and_ca_must_match():
    preflight.check_target(TARGET, provider="eksctl", cluster="test1",
                           eks={"endpoint": "https://a.eks.amazonaws.com/", "ca_data": "Q0E="})
    with pytest.raises(preflight.WrongTargetError, match=r"points at the API server https://A.eks.amazonaws.com, but "
                                                         r"the EKS cluster test1 \(DescribeCluster\) is https://b"):
        preflight.check_target(TARGET, provider="eksctl", cluster="test1", eks={"endpoint": "https://b", "ca_data": ""})
    with pytest.raises(preflight.WrongTargetError, match="another certificate authority"):
        preflight.check_target(TARGET, provider="eksctl", cluster="test1",
                               eks={"endpoint": TARGET["server"], "ca_data": "T1RIRVI="})


def test_existing_server_must_be_the_inventory_one():
    preflight.check_target(TARGET, provider="existing", cluster="local", api_server=None)
    preflight.check_target(TARGET, provider="existing", cluster="local", api_server=TARGET["server"])
    with pytest.raises(preflight.WrongTargetError, match="inventory names kubernetes_api_server https://x for local"):
        preflight.check_target(TARGET, provider="existing", cluster="local", api_server="https://x")
