"""IRSA scope (issue 24): S3 statements only on buckets of the inventory's account; under flavour 2 the flux
namespace's SecretStore role cannot read the Tiller CA kept after a migration (<cluster>/flux/ca-*)."""
from __future__ import annotations

import fnmatch

import pytest

from ansible_collections.tidepool.eks.plugins.module_utils.aws import irsa_roles
from ansible_collections.tidepool.eks.plugins.module_utils.config import irsa
from ansible_collections.tidepool.eks.plugins.module_utils.gitops import registry
from tests.support.inventory import load_values

ARN = "arn:aws:secretsmanager:us-west-2:118346523422:secret:"


def allowed(policy: dict, action: str, resource: str) -> bool:
    """IAM's evaluation for one action and resource, enough for these policies: an explicit Deny wins, else an
    Allow is needed (wildcards as IAM reads them: * and ?)."""
    def hits(st):
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
        return action in actions and any(fnmatch.fnmatchcase(resource, r) for r in resources)
    matched = [st for st in policy["Statement"] if hits(st)]
    return any(st["Effect"] == "Allow" for st in matched) and not any(st["Effect"] == "Deny" for st in matched)


@pytest.fixture()
def flavour2():
    values = load_values("test1")
    values["flux_version"] = 2
    values["pkgs"]["fluxcloud"] = {"enabled": True}  # its Slack secret lives in the flux namespace
    return values


def entry(values, ns, name):
    return next(e for e in irsa.irsa_service_accounts(values, registry.for_values(values))
                if (e["metadata"]["namespace"], e["metadata"]["name"]) == (ns, name))


def test_the_flux_namespace_store_cannot_read_the_tiller_ca(flavour2):
    policy = entry(flavour2, "flux", "secret-store")["attachPolicy"]
    for key in ("test1/flux/ca-key.pem-AbCdEf", "test1/flux/ca-key.pem"):
        for action in ("secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"):
            assert not allowed(policy, action, ARN + key), (action, key)
    assert allowed(policy, "secretsmanager:GetSecretValue", ARN + "test1/flux/slack-AbCdEf")
    # the same policy is what the local stack's irsa_roles creates
    readers = irsa_roles.service_account_entries(flavour2, registry.for_values(flavour2))
    assert next(e for e in readers if e["metadata"]["namespace"] == "flux")["attachPolicy"] == policy
    # other namespaces' stores are unchanged (they never reach <cluster>/flux/*)
    qa2 = entry(flavour2, "qa2", "secret-store")["attachPolicy"]
    assert all(st["Effect"] == "Allow" for st in qa2["Statement"])
    assert not allowed(qa2, "secretsmanager:GetSecretValue", ARN + "test1/flux/ca-key.pem-AbCdEf")


def test_every_s3_statement_needs_the_inventorys_account(flavour2):
    for e in irsa.irsa_service_accounts(flavour2, registry.for_values(flavour2)):
        for st in e["attachPolicy"]["Statement"]:
            actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
            if any(a.startswith("s3:") for a in actions):
                assert st["Condition"] == {"StringEquals": {"s3:ResourceAccount": "118346523422"}}, e["metadata"]
