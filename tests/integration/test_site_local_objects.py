"""`site.yml -l local` (the README's main command) puts real objects into the local stack: the API server
holds the namespaces, IRSA service accounts, HelmReleases and ClusterIssuers (accepted by the real CRDs), moto
holds the buckets and secrets; a rerun changes nothing and --check changes nothing."""
from __future__ import annotations

import json

import boto3
import pytest

from tests.support.helpers import recap, run_playbook

pytestmark = pytest.mark.integration


def kget(kube, *args):
    return json.loads(kube.kubectl("get", "-o", "json", *args).stdout)


def _everything(kube, env) -> dict:
    """What a run could change: the config repository's branches, moto's buckets and secrets, the API server's
    namespaces, service accounts and custom resource definitions, and the deploy keys of the GitHub stand-in."""
    import subprocess
    import urllib.request

    kw = dict(endpoint_url=env["AWS_ENDPOINT_URL"], region_name="us-east-1")
    refs = subprocess.run(["git", "ls-remote", env["TIDEPOOL_GIT_URL"] + "cluster-local.git"], capture_output=True,
                          text=True, check=False).stdout
    req = urllib.request.Request(f"{env['GITHUB_API_URL'].rstrip('/')}/repos/tidepool/cluster-local/keys",
                                 headers={"Authorization": f"token {env['GITHUB_TOKEN']}"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            keys = sorted(k["id"] for k in json.loads(resp.read()))
    except OSError:
        keys = "no repository"
    return {
        "git": refs,
        "buckets": sorted(b["Name"] for b in boto3.client("s3", **kw).list_buckets()["Buckets"]),
        "secrets": sorted(s["Name"] for s in boto3.client("secretsmanager", **kw).list_secrets(MaxResults=100)["SecretList"]),
        "kube": {kind: sorted(f"{o['metadata'].get('namespace', '')}/{o['metadata']['name']}"
                              for o in kget(kube, kind, "-A")["items"])
                 for kind in ("namespaces", "serviceaccounts", "customresourcedefinitions")},
        "deploy keys": keys,
    }


def _settled(kube, timeout=180):
    """Wait until no namespace is Terminating (an earlier module's clean-up, deleted without waiting), so the
    snapshots compare what this run did, not what the namespace controller finished meanwhile."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        terminating = sorted(n["metadata"]["name"] for n in kget(kube, "namespaces")["items"]
                             if (n.get("status") or {}).get("phase") == "Terminating")
        if not terminating:
            return
        assert time.monotonic() < deadline, f"namespaces still Terminating after {timeout} s: {terminating}"
        time.sleep(2)


def test_a_wrong_account_changes_nothing_anywhere(local_stack_env, kube_stack):
    """issue 24: with the wrong aws.accountNumber the run used to commit and push the config repository (changed=3)
    before a later play's account check stopped it. Every check now runs before the first change."""
    _settled(kube_stack)
    before = _everything(kube_stack, local_stack_env)
    wrong = {"aws": {"accountNumber": "111111111111", "iamUsers": ["local-admin"]}}
    res = run_playbook("site.yml", limit="local", env=local_stack_env, extra_vars=wrong)
    out = res.stdout + res.stderr
    assert res.returncode != 0, out[-4000:]
    assert "111111111111" in out and "123456789012" in out, out[-4000:]
    assert recap(res.stdout)["local"]["changed"] == 0, out[-4000:]
    after = _everything(kube_stack, local_stack_env)
    assert after == before, {kind: {"new": sorted(set(after["kube"][kind]) - set(before["kube"][kind])),
                                    "gone": sorted(set(before["kube"][kind]) - set(after["kube"][kind]))}
                             for kind in before["kube"]}


def test_another_cluster_s_bucket_stops_the_run_before_the_config_repository_is_pushed(local_stack_env, kube_stack):
    """issue 24: the bucket owner check ran in the assets step, after the config step had pushed; a bucket of the
    inventory tagged for another cluster now stops `site.yml` in its preflight, before any change anywhere."""
    s3 = boto3.client("s3", endpoint_url=local_stack_env["AWS_ENDPOINT_URL"], region_name="us-east-1")
    theirs = "tidepool-local-qa1-data"
    prod = {"tidepool.org/cluster": "prod", "tidepool.org/environment": "qa1"}
    s3.create_bucket(Bucket=theirs)
    try:
        s3.put_bucket_tagging(Bucket=theirs, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in prod.items()]})
        before = _everything(kube_stack, local_stack_env)
        res = run_playbook("site.yml", limit="local", env=local_stack_env)
        out = res.stdout + res.stderr
        assert res.returncode != 0, out[-4000:]
        assert f"bucket {theirs} exists with tidepool.org/cluster=prod" in out, out[-4000:]
        assert recap(res.stdout)["local"]["changed"] == 0, out[-4000:]
        assert _everything(kube_stack, local_stack_env) == before
        tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=theirs)["TagSet"]}
        assert tags == prod
    finally:
        s3.delete_bucket(Bucket=theirs)


@pytest.fixture(scope="module")
def site_local(local_stack_env):
    first = run_playbook("site.yml", limit="local", env=local_stack_env)
    assert first.returncode == 0, first.stdout[-6000:] + first.stderr[-2000:]
    return first


def test_objects_in_the_api_server(site_local, kube_stack):
    namespaces = {n["metadata"]["name"] for n in kget(kube_stack, "namespaces")["items"]}
    assert {"qa1", "certmanager", "external-dns", "external-secrets", "gloo-system", "reloader"} <= namespaces
    hr = kget(kube_stack, "helmreleases.helm.fluxcd.io", "tidepool", "-n", "qa1")
    assert hr["spec"]["releaseName"] == "qa1-tidepool"
    assert hr["metadata"]["annotations"]["fluxcd.io/tag.shoreline"] == "glob:develop-*"
    assert hr["spec"]["values"]["blob"]["deployment"]["env"]["bucket"] == "tidepool-local-qa1-data"
    blob = kget(kube_stack, "serviceaccount", "blob", "-n", "qa1")
    # the ClusterConfig's labels, plus those of the apply (who applied it, for which cluster and part)
    assert blob["metadata"]["labels"] == {"aws-usage": "blob-service", "app.kubernetes.io/managed-by": "tidepool.eks",
                                          "tidepool.org/cluster": "local", "tidepool.org/config-part": "cluster"}
    assert kget(kube_stack, "serviceaccount", "external-secrets", "-n", "external-secrets")["metadata"]["name"]
    issuers = {i["metadata"]["name"] for i in kget(kube_stack, "clusterissuers.certmanager.k8s.io")["items"]}
    assert issuers == {"letsencrypt-staging", "letsencrypt-production"}
    es = kget(kube_stack, "externalsecrets.kubernetes-client.io", "auth", "-n", "qa1")
    assert es["spec"]["backendType"] == "secretsManager"
    assert es["spec"]["data"] == [{"key": "local/qa1/auth", "name": "ServiceAuth", "property": "ServiceAuth"}]
    crds = {c["metadata"]["name"] for c in kget(kube_stack, "customresourcedefinitions")["items"]}
    assert "virtualservices.gateway.solo.io" in crds


def test_objects_in_moto(site_local, local_stack_env):
    kw = dict(endpoint_url=local_stack_env["AWS_ENDPOINT_URL"], region_name="us-east-1")
    buckets = {b["Name"] for b in boto3.client("s3", **kw).list_buckets()["Buckets"]}
    assert {"tidepool-local-qa1-data", "tidepool-local-qa1-asset"} <= buckets
    sm = boto3.client("secretsmanager", **kw)
    names = {s["Name"] for s in sm.list_secrets(MaxResults=100)["SecretList"]}
    assert {"local/qa1/auth", "local/qa1/shoreline", "local/flux/ca.pem", "local/flux/ca-key.pem"} <= names


def test_rerun_and_check_change_nothing(site_local, local_stack_env):
    again = run_playbook("site.yml", limit="local", env=local_stack_env)
    assert again.returncode == 0, again.stdout[-4000:]
    assert recap(again.stdout)["local"]["changed"] == 0, again.stdout[-6000:]
    check = run_playbook("site.yml", limit="local", env=local_stack_env, check=True, diff=True)
    assert check.returncode == 0, check.stdout[-4000:]
    assert recap(check.stdout)["local"]["changed"] == 0, check.stdout[-6000:]


def _deploy_keys(local_stack_env, full_name):
    import urllib.request
    req = urllib.request.Request(f"{local_stack_env['GITHUB_API_URL'].rstrip('/')}/repos/{full_name}/keys?per_page=100",
                                 headers={"Authorization": f"token {local_stack_env['GITHUB_TOKEN']}"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def test_flux_installed_and_its_key_registered_once(site_local, kube_stack, local_stack_env):
    import base64

    from ansible_collections.tidepool.eks.plugins.module_utils.crypto import ssh_keys

    flux = kget(kube_stack, "deployment", "flux", "-n", "flux")
    args = flux["spec"]["template"]["spec"]["containers"][0]["args"]
    assert f"--git-url={local_stack_env['TIDEPOOL_GIT_URL']}cluster-local.git" in args
    assert {"--git-path=clusters/local/flux", "--git-label=local", "--git-branch=master", "--git-poll-interval=1m",
            "--sync-interval=1m", "--git-email=admin@example.com"} <= set(args)
    assert {"tiller-secret", "flux-helm-tls-cert", "flux-helm-repositories", "flux-git-deploy"} <= {
        s["metadata"]["name"] for s in kget(kube_stack, "secrets", "-n", "flux")["items"]}
    private = base64.b64decode(kget(kube_stack, "secret", "flux-git-deploy", "-n", "flux")["data"]["identity"])
    public = ssh_keys.material(ssh_keys.public_line(ssh_keys.load_private(private)))
    keys = [k for k in _deploy_keys(local_stack_env, "tidepool/cluster-local") if k["key"] == public]
    assert len(keys) == 1 and keys[0]["title"] == "flux key for local" and keys[0]["read_only"] is False


def test_aws_auth_users_once_and_role_mapping_kept(site_local, kube_stack, local_stack_env):
    import yaml
    role = [{"rolearn": "arn:aws:iam::123456789012:role/ng-node", "username": "system:node:{{EC2PrivateDNSName}}",
             "groups": ["system:bootstrappers", "system:nodes"]}]
    kube_stack.kubectl("-n", "kube-system", "patch", "configmap", "aws-auth", "--type=merge",
                       "-p", json.dumps({"data": {"mapRoles": yaml.safe_dump(role)}}))
    for _ in range(2):
        proc = run_playbook("playbooks/cluster.yml", limit="local", env=local_stack_env)
        assert proc.returncode == 0, proc.stdout[-4000:]
    assert recap(proc.stdout)["local"]["changed"] == 0
    data = kget(kube_stack, "configmap", "aws-auth", "-n", "kube-system")["data"]
    assert yaml.safe_load(data["mapRoles"]) == role
    users = yaml.safe_load(data["mapUsers"])
    assert [u["userarn"] for u in users].count("arn:aws:iam::123456789012:user/local-admin") == 1
    assert {"userarn": "arn:aws:iam::123456789012:user/local-admin", "username": "local-admin",
            "groups": ["system:masters"]} in users


def test_config_validate_server_refuses_a_wrong_field(site_local, local_stack_env, tmp_path):
    import subprocess
    url = f"{local_stack_env['TIDEPOOL_GIT_URL']}cluster-local.git"
    head = subprocess.run(["git", "ls-remote", url, "refs/heads/master"], capture_output=True, text=True).stdout
    # A value the inventory's schema accepts but the API server refuses: the shoreline ConfigMap over its 1 MiB limit
    # (a misspelt field, the earlier case, is now refused by the values schema before anything is written).
    envs = {"qa1": {"gateway": {"default": {"protocol": "http"}, "http": {"enabled": True, "dnsNames": ["localhost"]}},
                    "clinicDemoUserId": "x" * (1024 * 1024 + 1)}}
    workdir = tmp_path / "checkout"
    extra = tmp_path / "extra.json"
    extra.write_text(json.dumps({"environments": envs, "config_validate": "server",
                                 "config_repo_workdir": str(workdir)}))
    proc = run_playbook("playbooks/config.yml", limit="local", env=local_stack_env, args=["-e", f"@{extra}"])
    assert proc.returncode != 0
    assert "ConfigMap qa1/shoreline" in proc.stdout, proc.stdout[-4000:]
    assert subprocess.run(["git", "ls-remote", url, "refs/heads/master"], capture_output=True, text=True).stdout == head
    # the manifests were written into the private clone before the check: it is put back to the remote branch
    assert "nothing was committed or pushed, and the private clone is back" in proc.stdout, proc.stdout[-3000:]
    git = ["git", "-C", str(workdir)]
    assert subprocess.run(git + ["status", "--porcelain"], capture_output=True, text=True).stdout == ""
    assert subprocess.run(git + ["rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip() == head.split()[0]
