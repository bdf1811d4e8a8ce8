"""The GitOps controllers of the local stack do their real work: Flux's source-controller fetches a commit
pushed over smart HTTP, kustomize-controller applies it and prunes what a later commit removed (and keeps
doing so after the controllers restart), and the
External Secrets Operator turns an ExternalSecret into a Secret with the value stored in moto's Secrets
Manager, authenticated the IRSA way (a service account token from the API server's TokenRequest, exchanged
by moto's STS AssumeRoleWithWebIdentity)."""
import base64
import datetime
import json
import os
import subprocess
import time
import uuid

import boto3
import pytest

from tests.support.helpers import wait_for

pytestmark = pytest.mark.integration


def wait(what, check, timeout=60.0, on_timeout=lambda: ""):
    return wait_for(what, check, timeout, on_timeout)


def get(kube, *args):
    """None only on NotFound; a kubectl failure fails the test (KubeStack.get)."""
    return kube.get(*args)


def apply(kube, doc: dict):
    kube.kubectl("apply", "-f", "-", input=json.dumps(doc))


def request_reconcile(kube, kind, name, namespace):
    """What `flux reconcile` does: set the reconcile.fluxcd.io/requestedAt annotation."""
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    kube.kubectl("annotate", "--overwrite", "-n", namespace, kind, name, f"reconcile.fluxcd.io/requestedAt={now}")


def ensure_namespace(kube, name):
    if get(kube, "namespace", name) is None:
        kube.kubectl("create", "namespace", name)


def logs(stack, *names):
    return "\n".join(f"--- {n}.log (tail)\n" + (stack.run / f"{n}.log").read_text(errors="replace")[-3000:]
                     for n in names if (stack.run / f"{n}.log").exists())


def configmap(name, namespace):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace},
            "data": {"from": "git"}}


@pytest.fixture
def tenant(gitops_stack):
    """``tenant(name, namespace)``: ServiceAccount flux-system/<name>, bound to cluster-admin in ``namespace`` only
    (what `flux create tenant` binds). Deleted after the test: flux-system is shared with the other modules (the
    migration compares its objects with a fresh converge)."""
    kube, made = gitops_stack.kube, []

    def make(name, namespace):
        apply(kube, {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": "flux-system"}})
        apply(kube, {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                     "metadata": {"name": name, "namespace": namespace},
                     "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
                     "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": "flux-system"}]})
        made.append((name, namespace))
    yield make
    for name, namespace in made:
        kube.kubectl("delete", "-n", "flux-system", f"serviceaccount/{name}", "--ignore-not-found", "--wait=false")
        kube.kubectl("delete", "-n", namespace, f"rolebinding/{name}", "--ignore-not-found", "--wait=false")


def push_tree(gitops_stack, tmp_path, name, files):
    """A new repository ``name`` holding ``files`` ({path: object}) on master, and its GitRepository in flux-system;
    returns the commit."""
    kube, git = gitops_stack.kube, gitops_stack.git
    git.create_repo(name)
    url = f"{git.http_url}{name}.git"
    work = tmp_path / name
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@x", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@x", GIT_TERMINAL_PROMPT="0")
    subprocess.run(["git", "clone", "-q", url, str(work)], env=env, check=True, capture_output=True, timeout=60)
    for path, obj in files.items():
        (work / path).parent.mkdir(parents=True, exist_ok=True)
        (work / path).write_text(json.dumps(obj))
    for args in (["add", "."], ["commit", "-q", "-m", "tree"], ["push", "-q", "origin", "HEAD:master"]):
        subprocess.run(["git", *args], cwd=work, env=env, check=True, capture_output=True, timeout=60)
    apply(kube, {"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
                 "metadata": {"name": name, "namespace": "flux-system"},
                 "spec": {"url": url, "interval": "10m", "ref": {"branch": "master"}}})
    # Its artifact first: a Kustomization that looks before would be "Source artifact not found", not the answer the
    # caller waits for.
    wait(f"GitRepository flux-system/{name} Ready",
         lambda: any(c["type"] == "Ready" and c["status"] == "True" for c in
                     (get(kube, "gitrepository", name, "-n", "flux-system") or {}).get("status", {}).get("conditions", [])),
         60, lambda: logs(gitops_stack.stack, "source-controller"))
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=work, check=True, capture_output=True,
                          text=True).stdout.strip()


def test_the_stack_s_kustomize_controller_runs_with_fluxs_lockdown(gitops_stack, tenant, tmp_path):
    """--default-service-account=default: a Kustomization naming no account applies as flux-system/default, which may
    do nothing; one naming an account bound in one namespace cannot write another; --no-cross-namespace-refs: a
    Kustomization cannot read a GitRepository of another namespace."""
    kube = gitops_stack.kube
    name = f"lock-{uuid.uuid4().hex[:6]}"
    ensure_namespace(kube, "flux-system")
    ensure_namespace(kube, name)
    ensure_namespace(kube, f"{name}-other")
    push_tree(gitops_stack, tmp_path, name, {"x/mine.yaml": configmap("mine", name),
                                              "x/other.yaml": configmap("theirs", f"{name}-other")})

    def kustomization(ks_name, namespace="flux-system", **spec):
        apply(kube, {"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
                     "metadata": {"name": ks_name, "namespace": namespace},
                     "spec": {"interval": "10m", "path": "./x", "prune": True,
                              "sourceRef": {"kind": "GitRepository", "name": name, "namespace": "flux-system"},
                              **spec}})

    def refused(ks_name, namespace="flux-system"):
        ks = get(kube, "kustomization", ks_name, "-n", namespace) or {}
        cond = next((c for c in ks.get("status", {}).get("conditions", []) if c["type"] == "Ready"), {})
        return cond.get("message") if cond.get("status") == "False" else None

    def report():
        return logs(gitops_stack.stack, "kustomize-controller")

    kustomization(f"{name}-default")
    message = wait("no account: refused as flux-system/default", lambda: refused(f"{name}-default"), 90, report)
    assert "system:serviceaccount:flux-system:default" in message and "forbidden" in message, message

    tenant(name, name)
    kustomization(f"{name}-tenant", serviceAccountName=name)
    message = wait("the tenant's object in another namespace: refused", lambda: refused(f"{name}-tenant"), 90, report)
    assert f"system:serviceaccount:flux-system:{name}" in message and f'namespace "{name}-other"' in message, message
    assert get(kube, "configmap", "theirs", "-n", f"{name}-other") is None

    kustomization(f"{name}-cross", namespace=name, serviceAccountName="default")
    message = wait("a source of another namespace: refused", lambda: refused(f"{name}-cross", name), 90, report)
    assert "cross-namespace references have been blocked" in message, message

    kube.kubectl("delete", "-n", "flux-system", f"kustomization/{name}-default", f"kustomization/{name}-tenant",
                 f"gitrepository/{name}", "--wait=false")
    kube.kubectl("delete", "-n", name, f"kustomization/{name}-cross", "--wait=false")


def test_flux_applies_a_pushed_commit_and_prunes_what_is_removed(gitops_stack, tenant, tmp_path):
    kube, git = gitops_stack.kube, gitops_stack.git
    name = f"loop-{uuid.uuid4().hex[:6]}"
    ns = name
    ensure_namespace(kube, ns)
    ensure_namespace(kube, "flux-system")
    git.create_repo(name)
    url = f"{git.http_url}{name}.git"
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@x", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@x", GIT_TERMINAL_PROMPT="0")
    work = tmp_path / "work"

    def git_(*args):
        return subprocess.run(["git", *args], cwd=work if work.exists() else tmp_path, env=env, check=True,
                              capture_output=True, text=True, timeout=60).stdout.strip()

    git_("clone", "-q", url, str(work))
    (work / "clusters" / "x").mkdir(parents=True)
    (work / "clusters" / "x" / "keep.yaml").write_text(json.dumps(configmap("keep", ns)))
    (work / "clusters" / "x" / "gone.yaml").write_text(json.dumps(configmap("gone", ns)))
    git_("add", ".")
    git_("commit", "-q", "-m", "two configmaps")
    git_("push", "-q", "origin", "HEAD:master")
    first = git_("rev-parse", "HEAD")

    apply(kube, {"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
                 "metadata": {"name": name, "namespace": "flux-system"},
                 "spec": {"url": url, "interval": "10m", "ref": {"branch": "master"}}})
    # the stack's kustomize-controller runs locked down (--default-service-account=default): the Kustomization
    # applies as its own service account, bound in the target namespace only
    tenant(name, ns)
    apply(kube, {"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
                 "metadata": {"name": name, "namespace": "flux-system"},
                 "spec": {"interval": "10m", "path": "./clusters/x", "prune": True, "serviceAccountName": name,
                          "sourceRef": {"kind": "GitRepository", "name": name}}})

    def applied(rev):
        ks = get(kube, "kustomization", name, "-n", "flux-system") or {}
        return ks.get("status", {}).get("lastAppliedRevision") == f"master@sha1:{rev}"

    def report():
        return (json.dumps((get(kube, "kustomization", name, "-n", "flux-system") or {}).get("status"), indent=1)
                + json.dumps((get(kube, "gitrepository", name, "-n", "flux-system") or {}).get("status"), indent=1)
                + logs(gitops_stack.stack, "source-controller", "kustomize-controller"))

    t0 = time.monotonic()
    wait("first commit applied", lambda: applied(first), 90, report)
    assert get(kube, "configmap", "gone", "-n", ns)["data"] == {"from": "git"}
    assert get(kube, "configmap", "keep", "-n", ns) is not None
    print(f"\npush -> applied: {time.monotonic() - t0:.1f}s")

    git_("rm", "-q", "clusters/x/gone.yaml")
    git_("commit", "-q", "-m", "remove one")
    git_("push", "-q", "origin", "HEAD:master")
    second = git_("rev-parse", "HEAD")
    t0 = time.monotonic()
    request_reconcile(kube, "gitrepository", name, "flux-system")
    request_reconcile(kube, "kustomization", name, "flux-system")
    wait("second commit applied", lambda: applied(second), 90, report)
    wait("removed ConfigMap pruned", lambda: get(kube, "configmap", "gone", "-n", ns) is None, 30, report)
    assert get(kube, "configmap", "keep", "-n", ns) is not None
    print(f"push -> pruned: {time.monotonic() - t0:.1f}s")

    # A restart of the controllers and of the git endpoint keeps the loop working (artifact storage and
    # objects survive; the controllers pick up where they were).
    stack = gitops_stack.stack
    stack.down(["source-controller", "kustomize-controller", "git-http"])
    stack.up(["git-http", "source-controller", "kustomize-controller"])
    (work / "clusters" / "x" / "again.yaml").write_text(json.dumps(configmap("again", ns)))
    git_("add", ".")
    git_("commit", "-q", "-m", "after a restart")
    git_("push", "-q", "origin", "HEAD:master")
    third = git_("rev-parse", "HEAD")
    request_reconcile(kube, "gitrepository", name, "flux-system")
    request_reconcile(kube, "kustomization", name, "flux-system")
    wait("commit after a restart applied", lambda: applied(third), 90, report)
    assert get(kube, "configmap", "again", "-n", ns) is not None

    kube.kubectl("delete", "-n", "flux-system", f"kustomization/{name}", f"gitrepository/{name}", "--wait=false")


def test_external_secret_reads_moto_through_irsa(gitops_stack):
    """A SecretStore authenticated the IRSA way (auth.jwt.serviceAccountRef to a service account annotated
    with an IAM role): ESO asks the API server for the account's token, moto's STS exchanges it."""
    kube = gitops_stack.kube
    value = f"value-{uuid.uuid4().hex}"
    sm = boto3.client("secretsmanager", endpoint_url=gitops_stack.aws_endpoint)
    try:
        sm.create_secret(Name="c1/a/x", SecretString=value)
    except sm.exceptions.ResourceExistsException:
        sm.put_secret_value(SecretId="c1/a/x", SecretString=value)
    iam = boto3.client("iam", endpoint_url=gitops_stack.aws_endpoint)
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
                                                     "Principal": {"Federated": "local"}}]}
    try:
        role = iam.create_role(RoleName="c1-a-eso", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    except iam.exceptions.EntityAlreadyExistsException:
        role = iam.get_role(RoleName="c1-a-eso")["Role"]["Arn"]

    ensure_namespace(kube, "a")
    apply(kube, {"apiVersion": "v1", "kind": "ServiceAccount",
                 "metadata": {"name": "eso-a", "namespace": "a", "annotations": {"eks.amazonaws.com/role-arn": role}}})
    apply(kube, {"apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
                 "metadata": {"name": "aws", "namespace": "a"},
                 "spec": {"provider": {"aws": {"service": "SecretsManager", "region": "us-east-1",
                                               "auth": {"jwt": {"serviceAccountRef": {"name": "eso-a"}}}}}}})
    name = f"x-{uuid.uuid4().hex[:6]}"
    apply(kube, {"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
                 "metadata": {"name": name, "namespace": "a"},
                 "spec": {"refreshInterval": "1h", "secretStoreRef": {"kind": "SecretStore", "name": "aws"},
                          "target": {"name": name},
                          "data": [{"secretKey": "value", "remoteRef": {"key": "c1/a/x"}}]}})

    def report():
        return (json.dumps((get(kube, "secretstore", "aws", "-n", "a") or {}).get("status"), indent=1)
                + json.dumps((get(kube, "externalsecret", name, "-n", "a") or {}).get("status"), indent=1)
                + logs(gitops_stack.stack, "external-secrets"))

    t0 = time.monotonic()
    secret = wait("Secret synced from moto", lambda: get(kube, "secret", name, "-n", "a"), 60, report)
    print(f"\nExternalSecret -> Secret: {time.monotonic() - t0:.1f}s")
    assert base64.b64decode(secret["data"]["value"]).decode() == value
    es = get(kube, "externalsecret", name, "-n", "a")
    assert any(c["type"] == "Ready" and c["status"] == "True" for c in es["status"]["conditions"]), es["status"]
    kube.kubectl("delete", "-n", "a", "externalsecret", name, "--wait=false")
