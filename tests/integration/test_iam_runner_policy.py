"""The runner's published IAM policy (docs/iam/), proven with AWS evaluating it (moto enforcing IAM,
tests/support/iam_moto.py) rather than by reading the JSON.

A user holding exactly the policies of the steps ``site.yml -l local`` runs converges the local cluster (green,
then ``changed=0``); with any one statement removed, the step that needs it fails with one AccessDenied error
naming the IAM action to allow. The Kubernetes and git side is the session's ephemeral local stack.
"""
from __future__ import annotations

import copy
import os

import pytest
import yaml

from tests.support.helpers import AWS_ENV, REPO, recap, run_playbook
from tests.support.iam_moto import REGION, EnforcedMoto, runner_policies

pytestmark = pytest.mark.integration

#: The policy files of the steps `site.yml -l local` calls AWS in (config, cluster with cluster_provider existing,
#: shared_services, environments and peering make no AWS call there; preflight.json is for eksctl clusters, and
#: the preflight's sts:GetCallerIdentity needs no permission, in AWS as in moto).
LOCAL_POLICIES = ("assets", "secrets", "flux", "helm_client")
VALUES = yaml.safe_load((REPO / "inventories" / "values" / "local.yml").read_text())
FLUX_V1 = {"flux_version": 1}
#: (policy, statement) -> (the step playbook that needs the statement, extra vars making the run need it).
NEW_ENV = dict(FLUX_V1, environments={"qa1": VALUES["environments"]["qa1"],
                                      "zz9": copy.deepcopy(VALUES["environments"]["qa1"])})
STEP = {("assets", "ListBuckets"): ("assets", FLUX_V1),
        ("assets", "ReadEnvironmentBuckets"): ("assets", FLUX_V1),
        ("assets", "WriteEnvironmentBuckets"): ("assets", NEW_ENV),  # a converged cluster only reads
        ("secrets", "ListSecrets"): ("secrets", FLUX_V1),
        ("secrets", "ClusterSecrets"): ("secrets", NEW_ENV),  # a converged cluster only reads (BatchGetSecretValue)
        ("flux", "TillerCA"): ("flux", FLUX_V1),
        ("helm_client", "ReadTillerCA"): ("helm_client", FLUX_V1)}


@pytest.fixture(scope="module")
def runner(kube_stack, git_server, tmp_path_factory):
    """(enforced moto, the ansible environment of user `runner` holding exactly the local steps' policies)."""
    with EnforcedMoto(tmp_path_factory.mktemp("iam-runner")) as moto:
        creds = moto.user("runner", runner_policies(LOCAL_POLICIES, "local"))
        env = {k: os.environ[k] for k in ("KUBECONFIG", "K8S_AUTH_KUBECONFIG", "TIDEPOOL_STACK_DIR", "TIDEPOOL_GIT_URL",
                                          "GITHUB_API_URL", "GITHUB_TOKEN")}
        env.update(AWS_ENDPOINT_URL=moto.endpoint, AWS_ACCESS_KEY_ID=creds["aws_access_key_id"],
                   AWS_SECRET_ACCESS_KEY=creds["aws_secret_access_key"], AWS_DEFAULT_REGION=REGION)
        yield moto, env


def run(env, playbook, extra_vars):
    return run_playbook(playbook, limit="local", env=env, extra_vars=extra_vars, env_remove=AWS_ENV)


def test_site_local_converges_with_only_the_published_policy(runner):
    moto, env = runner
    res = run(env, "site.yml", FLUX_V1)
    assert res.returncode == 0, res.stdout[-6000:] + res.stderr[-2000:]
    assert moto.denied() == []
    sm = moto.client("secretsmanager")
    assert {"local/qa1/auth", "local/flux/ca.pem"} <= {s["Name"] for s in sm.list_secrets()["SecretList"]}
    assert {"tidepool-local-qa1-data", "tidepool-local-qa1-asset"} <= {
        b["Name"] for b in moto.client("s3").list_buckets()["Buckets"]}
    res = run(env, "site.yml", FLUX_V1)
    assert res.returncode == 0, res.stdout[-6000:] + res.stderr[-2000:]
    assert recap(res.stdout)["local"]["changed"] == 0, res.stdout[-6000:]
    assert moto.denied() == []


def statements():
    for name, doc in runner_policies(LOCAL_POLICIES, "local").items():
        for st in doc["Statement"]:
            yield name, st["Sid"]


def test_every_statement_of_the_local_steps_is_tested():
    assert sorted(statements()) == sorted(STEP)


#: S3 answers a denied HEAD request with a bare 403, in AWS too: the error names the operation, which
#: docs/iam/README.md maps to its action (HeadBucket: s3:ListBucket).
HEAD = {"s3:ListBucket": "HeadBucket operation: Forbidden"}


@pytest.mark.parametrize("policy,sid", sorted(STEP))
def test_a_missing_statement_fails_its_step_naming_the_action(runner, policy, sid):
    """The user holds only the step's own policy file, without the statement: the step fails on it."""
    moto, env = runner
    full = runner_policies(LOCAL_POLICIES, "local")
    reduced = copy.deepcopy(full[policy])
    reduced["Statement"] = [st for st in reduced["Statement"] if st["Sid"] != sid]
    actions = next(st["Action"] for st in full[policy]["Statement"] if st["Sid"] == sid)
    before = len(moto.denied())
    moto.set_user_policies("runner", {policy: reduced})
    try:
        step, extra_vars = STEP[(policy, sid)]
        res = run(env, f"playbooks/{step}.yml", extra_vars)
    finally:
        moto.set_user_policies("runner", full)
    assert res.returncode != 0, res.stdout[-4000:]
    assert recap(res.stdout)["local"]["failed"] == 1, res.stdout[-4000:]
    denied = [action for action, _ in moto.denied()[before:]]
    assert denied and set(denied) <= set(actions), (denied, actions)  # denied only what the statement allows
    errors = [line for line in res.stdout.splitlines() if line.startswith("[ERROR]: ")]
    assert len(errors) == 1, res.stdout[-5000:]
    named = [a for a in denied if ("AccessDenied" in errors[0] and a in errors[0]) or HEAD.get(a, "?") in errors[0]]
    assert named, (errors, denied)
