"""Teardown playbooks against the local stack: stop_services (Flux suspended, HelmReleases removed, environments
first) and delete_cluster (after stop_services: eksctl delete runs only once no HelmRelease is left), gated by
confirm_delete; purge_deploy_key / purge_config_repo against the stack's fake GitHub API and git daemon."""
from __future__ import annotations

import base64
import json
import stat
import subprocess
import sys
import uuid

import boto3
import pytest
import yaml

import local_stack

from ansible_collections.tidepool.eks.plugins.module_utils.crypto import ssh_keys
from tests.support.helpers import github_api, moto_aws, recap, run_playbook

pytestmark = pytest.mark.integration

CLUSTER = "test1"  # the inventory host (cluster_provider eksctl); the kubeconfig points at the local stack
# The namespaces of the test being run: `workload` gives every test names of its own (a suffix), so no test waits
# for the previous one's namespaces to finish terminating (the namespace controller takes seconds per namespace).
NS = ("tdqa2", "tdshared")
FLUX_NS = "tdflux"


def release(name, ns):
    return {"apiVersion": "helm.fluxcd.io/v1", "kind": "HelmRelease", "metadata": {"name": name, "namespace": ns},
            "spec": {"releaseName": f"{ns}-{name}", "chart": {"repository": "https://charts.example/", "name": name,
                                                               "version": "1.0.0"}}}


EKS_CONTEXT = f"tester@{CLUSTER}.us-west-2.eksctl.io"  # what eksctl names the context of test1


def eks_kubeconfig(kube, path, current=EKS_CONTEXT, server=None):
    """The local stack's kubeconfig the way eksctl writes test1's (context <identity>@test1.us-west-2.eksctl.io, of
    the cluster entry test1.us-west-2.eksctl.io), plus a context `prod` of another API server (nothing listens on
    its port), with ``current`` as current-context. ``server``: test1's entry's URL (default the stack's)."""
    cfg = yaml.safe_load(kube.kubeconfig.read_text())
    real = cfg["clusters"][0]["cluster"]
    entry = f"{CLUSTER}.us-west-2.eksctl.io"
    cfg["clusters"] = [{"name": entry, "cluster": dict(real, server=server or real["server"])},
                       {"name": "prod", "cluster": dict(real, server=f"https://127.0.0.1:{local_stack.free_port()}")}]
    user = cfg["contexts"][0]["context"]["user"]
    cfg["contexts"] = [{"name": EKS_CONTEXT, "context": {"cluster": entry, "user": user}},
                       {"name": "prod", "context": {"cluster": "prod", "user": user}}]
    cfg["current-context"] = current
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.fixture
def workload(kube_stack, moto_reset, tmp_path):
    """Flux v1 daemon (namespace flux) and HelmReleases in two namespaces of the test's own; test1 in moto (its
    endpoint and CA are the local API server's: scripts/local_stack/moto_eks_shim.py) and its kubeconfig as eksctl
    writes it (kubeconfig_path), current-context the other cluster `prod`. The namespaces are this test's own (NS, FLUX_NS with a
    suffix); they are deleted after it without waiting."""
    global NS, FLUX_NS  # pylint: disable=global-statement  # read by the helpers below, as in every test
    suffix = uuid.uuid4().hex[:6]
    NS, FLUX_NS = (f"tdqa2-{suffix}", f"tdshared-{suffix}"), f"tdflux-{suffix}"
    boto3.client("eks", region_name="us-west-2", endpoint_url=moto_reset).create_cluster(
        name=CLUSTER, version="1.34", roleArn="arn:aws:iam::123456789012:role/x", resourcesVpcConfig={"subnetIds": []})
    kube_stack.kubeconfig_path = eks_kubeconfig(kube_stack, tmp_path / "eks-kubeconfig", current="prod")
    docs = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}} for n in (*NS, FLUX_NS)]
    docs.append({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "flux", "namespace": FLUX_NS},
                 "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "flux"}}, "template": {
                     "metadata": {"labels": {"app": "flux"}},
                     "spec": {"containers": [{"name": "flux", "image": "fluxcd/flux:1.21.1"}]}}}})
    docs += [release("tidepool", NS[0]), release("gloo", NS[1]), release("external-dns", NS[1])]
    kube_stack.kubectl("apply", "--server-side", "--field-manager", "tidepool.eks", "-f", "-",
                       input=yaml.safe_dump_all(docs))
    yield kube_stack
    kube_stack.kubectl("delete", "namespace", *NS, FLUX_NS, "--ignore-not-found", "--wait=false")


def releases(kube):
    out = json.loads(kube.kubectl("get", "helmreleases.helm.fluxcd.io", "-A", "-o", "json").stdout)["items"]
    return sorted(f"{r['metadata']['namespace']}/{r['metadata']['name']}" for r in out
                  if r["metadata"]["namespace"] in NS)


def flux_replicas(kube):
    return json.loads(kube.kubectl("get", "deployment", "flux", "-n", FLUX_NS, "-o", "json").stdout)["spec"]["replicas"]


def extra(kube, **kw):
    out = {"kubeconfig": str(kube.kubeconfig_path), "aws": moto_aws(), "teardown_poll_interval": 1, "teardown_wait_timeout": 60,
           "teardown_flux_namespace": FLUX_NS, "teardown_namespaces": list(NS)}
    out.update(kw)
    return out


def test_stop_services_needs_confirmation(workload):
    res = run_playbook("playbooks/stop_services.yml", limit=CLUSTER, extra_vars=extra(workload))
    assert res.returncode != 0 and "confirm_delete: test1" in res.stdout
    assert releases(workload) == sorted([f"{NS[0]}/tidepool", f"{NS[1]}/gloo", f"{NS[1]}/external-dns"])
    wrong = run_playbook("playbooks/stop_services.yml", limit=CLUSTER, extra_vars=extra(workload, confirm_delete="prod"))
    assert wrong.returncode != 0 and flux_replicas(workload) == 1


def test_stop_services_check_then_run(workload):
    checked = run_playbook("playbooks/stop_services.yml", limit=CLUSTER, check=True,
                           extra_vars=extra(workload, confirm_delete=CLUSTER))
    assert checked.returncode == 0, checked.stdout[-4000:]
    assert recap(checked.stdout)[CLUSTER]["changed"] == 2, checked.stdout[-4000:]  # scale + delete releases
    assert len(releases(workload)) == 3 and flux_replicas(workload) == 1

    res = run_playbook("playbooks/stop_services.yml", limit=CLUSTER, extra_vars=extra(workload, confirm_delete=CLUSTER))
    assert res.returncode == 0, res.stdout[-4000:]
    assert releases(workload) == [] and flux_replicas(workload) == 0
    # Environments first: the tidepool release is deleted before the shared services.
    deletions = [line for line in res.stdout.splitlines() if "helmrelease" in line.lower() or "(item=" in line]
    names = [n for line in deletions for n in (f"{NS[0]}/tidepool", f"{NS[1]}/gloo", f"{NS[1]}/external-dns")
             if f"(item={n})" in line]
    assert names[0] == f"{NS[0]}/tidepool" and set(names) == {f"{NS[0]}/tidepool", f"{NS[1]}/gloo",
                                                              f"{NS[1]}/external-dns"}, names

    again = run_playbook("playbooks/stop_services.yml", limit=CLUSTER, extra_vars=extra(workload, confirm_delete=CLUSTER))
    assert again.returncode == 0 and recap(again.stdout)[CLUSTER]["changed"] == 0, again.stdout[-3000:]


def test_stop_services_deletes_in_the_inventory_cluster_not_the_current_context(workload):
    """The kubeconfig's current-context is another cluster (`prod`): stop_services resolves test1's context (the
    one of the cluster entry test1.us-west-2.eksctl.io) once, checks it against DescribeCluster, and deletes there."""
    res = run_playbook("playbooks/stop_services.yml", limit=CLUSTER, extra_vars=extra(workload, confirm_delete=CLUSTER))
    assert res.returncode == 0, res.stdout[-4000:]
    assert releases(workload) == [] and flux_replicas(workload) == 0
    assert yaml.safe_load(workload.kubeconfig_path.read_text())["current-context"] == "prod"  # left as it was


def test_stop_services_refuses_a_kubeconfig_that_is_not_the_eks_cluster(workload, tmp_path):
    """test1's context points at another server URL than the EKS cluster's endpoint: one error naming both, and
    nothing deleted (even with the current-context on that context)."""
    cfg = yaml.safe_load(workload.kubeconfig.read_text())
    real = cfg["clusters"][0]["cluster"]["server"]
    other = real.replace("127.0.0.1", "localhost")  # the same API server under another name: not the endpoint
    path = eks_kubeconfig(workload, tmp_path / "wrong", server=other)
    res = run_playbook("playbooks/stop_services.yml", limit=CLUSTER,
                       extra_vars=extra(workload, confirm_delete=CLUSTER, kubeconfig=str(path)))
    out = res.stdout + res.stderr
    assert res.returncode != 0, out[-3000:]
    assert (f"Wrong cluster: kubeconfig {path}, context {EKS_CONTEXT} points at the API server {other}, but the EKS "
            f"cluster {CLUSTER} (DescribeCluster) is {real}") in out, out[-3000:]
    assert len(releases(workload)) == 3 and flux_replicas(workload) == 1


def test_stop_services_existing_cluster_checks_kubernetes_api_server(workload):
    """cluster_provider existing: kubeconfig_context names the cluster (the current context is `prod`), and the
    inventory's kubernetes_api_server must be its server."""
    kw = dict(confirm_delete=CLUSTER, cluster_provider="existing", kubeconfig_context=EKS_CONTEXT)
    wrong = run_playbook("playbooks/stop_services.yml", limit=CLUSTER,
                         extra_vars=extra(workload, kubernetes_api_server="https://10.0.0.1:6443", **kw))
    assert wrong.returncode != 0
    assert "but the inventory names kubernetes_api_server https://10.0.0.1:6443 for test1" in wrong.stdout, \
        wrong.stdout[-3000:]
    assert len(releases(workload)) == 3 and flux_replicas(workload) == 1
    res = run_playbook("playbooks/stop_services.yml", limit=CLUSTER,
                       extra_vars=extra(workload, kubernetes_api_server=workload.server, **kw))
    assert res.returncode == 0, res.stdout[-4000:]
    assert releases(workload) == [] and flux_replicas(workload) == 0


def test_delete_cluster_runs_eksctl_after_the_helmreleases_are_gone(workload, moto_reset, tmp_path):
    # test1's cluster is in moto (workload: what eksctl would have left), so the plan is `eksctl delete cluster`.
    bindir = tmp_path / "bin"
    bindir.mkdir()
    record = tmp_path / "record.jsonl"
    kubectl = str(workload.kubectl_bin)
    standin = bindir / "eksctl"
    standin.write_text(f"""#!{sys.executable}
import json, subprocess, sys
out = subprocess.run([{kubectl!r}, "--kubeconfig", {str(workload.kubeconfig)!r}, "get", "helmreleases.helm.fluxcd.io",
                      "-A", "-o", "json"], capture_output=True, text=True, check=True).stdout
left = [r["metadata"]["namespace"] + "/" + r["metadata"]["name"] for r in json.loads(out)["items"]
        if r["metadata"]["namespace"] in {list(NS)!r}]
open({str(record)!r}, "a").write(json.dumps({{"argv": sys.argv[1:], "helmreleases_left": left}}) + "\\n")
""")
    standin.chmod(standin.stat().st_mode | stat.S_IXUSR)
    kw = {"region_name": "us-west-2", "endpoint_url": moto_reset}
    s3, sm = boto3.client("s3", **kw), boto3.client("secretsmanager", **kw)
    bucket = "tidepool-test1-qa2-data"  # naming convention of test1's environment qa2, made by the assets role
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    s3.put_object(Bucket=bucket, Key="blob/1", Body=b"x")
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [
        {"Key": "tidepool.org/cluster", "Value": CLUSTER}, {"Key": "tidepool.org/environment", "Value": "qa2"}]})
    # test1's derived asset bucket name, but another cluster's bucket (names are global): never deleted
    foreign = "tidepool-test1-qa2-asset"
    foreign_tags = [{"Key": "tidepool.org/cluster", "Value": "test1-qa2"}, {"Key": "tidepool.org/environment", "Value": "x"}]
    s3.create_bucket(Bucket=foreign, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    s3.put_object(Bucket=foreign, Key="theirs", Body=b"y")
    s3.put_bucket_tagging(Bucket=foreign, Tagging={"TagSet": foreign_tags})
    sm.create_secret(Name=f"{CLUSTER}/qa2/mongo", SecretString="{}")
    sm.create_secret(Name="other/qa2/mongo", SecretString="{}")
    res = run_playbook("playbooks/delete_cluster.yml", limit=CLUSTER, extra_vars=extra(
        workload, confirm_delete=CLUSTER, aws_endpoint_url=moto_reset, cluster_eksctl_path=str(standin)))
    assert res.returncode == 0, res.stdout[-5000:]
    calls = [json.loads(line) for line in record.read_text().splitlines()]
    assert len(calls) == 1
    argv = calls[0]["argv"]
    assert argv[:3] == ["delete", "cluster", "-f"] and argv[4:] == ["--wait", "--timeout=2400s"]
    assert calls[0]["helmreleases_left"] == []  # stop_services ran first
    # Kept without purge flags.
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 1
    assert "DeletedDate" not in sm.describe_secret(SecretId=f"{CLUSTER}/qa2/mongo")

    purge_vars = extra(workload, confirm_delete=CLUSTER, aws_endpoint_url=moto_reset,
                       cluster_eksctl_path=str(standin), purge_buckets=True, purge_secrets=True)
    # Check mode: the purge lists what it would delete and deletes nothing.
    checked = run_playbook("playbooks/delete_cluster.yml", limit=CLUSTER, check=True, verbosity=1,
                           extra_vars=purge_vars)
    assert checked.returncode == 0, checked.stdout[-5000:]
    assert task_status(checked.stdout, "Delete the cluster's secrets") == "changed"
    section = checked.stdout.split("Delete the cluster's secrets", 1)[1].split("TASK [", 1)[0]
    assert yaml.safe_load(section.split("=>", 1)[1])["deleted"] == [f"{CLUSTER}/qa2/mongo"]
    assert "DeletedDate" not in sm.describe_secret(SecretId=f"{CLUSTER}/qa2/mongo")

    # A secret only its primary region may delete (replicated here from eu-west-1): the purge goes through the
    # collection's AWS helper, so the failure is one sentence naming it and what was deleted before it.
    replica = f"{CLUSTER}/zz/replica"
    boto3.client("secretsmanager", region_name="eu-west-1", endpoint_url=moto_reset).create_secret(
        Name=replica, SecretString="{}", AddReplicaRegions=[{"Region": "us-west-2"}])
    purged = run_playbook("playbooks/delete_cluster.yml", limit=CLUSTER, extra_vars=purge_vars)
    assert purged.returncode != 0
    assert f"secretsmanager.DeleteSecret on {replica} failed: InvalidParameterException" in purged.stdout
    assert f"Stopped at {replica}: 1 secret(s) changed before it ({CLUSTER}/qa2/mongo)" in purged.stdout
    assert "Traceback" not in purged.stdout + purged.stderr
    assert bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    # The other cluster's bucket is left in place, with its objects and tags, and reported.
    assert s3.list_objects_v2(Bucket=foreign)["KeyCount"] == 1
    assert s3.get_bucket_tagging(Bucket=foreign)["TagSet"] == foreign_tags
    report = " ".join(purged.stdout.split("Report the buckets left in place", 1)[1].split("TASK [", 1)[0].split())
    assert (f"{foreign}: tidepool.org/cluster=test1-qa2, tidepool.org/environment=x, not "
            f"tidepool.org/cluster={CLUSTER}, tidepool.org/environment=qa2") in report, purged.stdout[-5000:]
    assert "DeletedDate" in sm.describe_secret(SecretId=f"{CLUSTER}/qa2/mongo")  # 7-day recovery window
    assert "DeletedDate" not in sm.describe_secret(SecretId="other/qa2/mongo")  # another cluster's secret is kept


# --- purge_deploy_key / purge_config_repo -------------------------------------------------------------------------

def git(*args, cwd=None) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True, timeout=120).stdout




class Purge:
    """test1's config repository on the stack's git daemon (clusters/test1 and another cluster's directory), its
    deploy keys on the fake GitHub (Flux's key of test1 and another key), the deploy key Secret of Flux in the
    cluster, test1 in moto, and an eksctl stand-in recording what GitHub and the repository held when it ran."""

    def __init__(self, kube, git_server, moto, tmp_path, secret="flux-git-deploy"):
        self.kube, self.git_server, self.tmp = kube, git_server, tmp_path
        name = "cluster-td" + uuid.uuid4().hex[:8]
        self.url = git_server.create_repo(name)
        self.full_name = f"tidepool/{name}"
        seed = tmp_path / "seed"
        git("clone", "-q", self.url, str(seed))
        for cluster in (CLUSTER, "other"):
            (seed / "clusters" / cluster / "flux").mkdir(parents=True)
            (seed / "clusters" / cluster / "flux" / "namespace.yaml").write_text(f"# {cluster}\n")
        git("-C", str(seed), "add", "-A")
        git("-C", str(seed), "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", "seed")
        git("-C", str(seed), "push", "-q", "origin", "HEAD:refs/heads/master")

        private, self.public = ssh_keys.generate("ed25519")
        kube.kubectl("apply", "--server-side", "--field-manager", "tidepool.eks", "-f", "-", input=yaml.safe_dump(
            {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
             "metadata": {"name": secret, "namespace": FLUX_NS},
             "data": {"identity": base64.b64encode(private).decode()}}))
        github_api(git_server, "POST", f"/repos/{self.full_name}/keys",
               {"title": f"flux key for {CLUSTER}", "key": self.public, "read_only": False})
        self.other_key = ssh_keys.generate("ed25519")[1]
        github_api(git_server, "POST", f"/repos/{self.full_name}/keys",
               {"title": "flux key for other", "key": self.other_key, "read_only": False})

        bindir = tmp_path / "bin"
        bindir.mkdir()
        self.record = tmp_path / "record.jsonl"
        self.eksctl = bindir / "eksctl"
        self.eksctl.write_text(f"""#!{sys.executable}
import json, os, subprocess, sys, urllib.request
req = urllib.request.Request({git_server.api_url.rstrip('/')!r} + "/repos/{self.full_name}/keys",
                             headers={{"Authorization": "token {git_server.token}"}})
keys = [k["key"] for k in json.loads(urllib.request.urlopen(req, timeout=30).read())]
tree = subprocess.run(["git", "ls-remote", {self.url!r}, "refs/heads/master"], capture_output=True, text=True).stdout
open({str(self.record)!r}, "a").write(json.dumps({{"argv": sys.argv[1:], "keys": keys, "head": tree.split()[0],
                                                   "KUBECONFIG": os.environ.get("KUBECONFIG")}}) + "\\n")
""")
        self.eksctl.chmod(self.eksctl.stat().st_mode | stat.S_IXUSR)
        self.extra = extra(kube, confirm_delete=CLUSTER, aws_endpoint_url=moto, cluster_eksctl_path=str(self.eksctl),
                           config_repo_url=self.url, config_repo_workdir=str(tmp_path / "checkout"),
                           github_repository=self.full_name, github_api_url=git_server.api_url,
                           github_token=git_server.token)

    def run(self, check=False, **kw):
        return run_playbook("playbooks/delete_cluster.yml", limit=CLUSTER, check=check, diff=check,
                            extra_vars={**self.extra, **kw})

    def keys(self):
        return sorted(k["key"] for k in github_api(self.git_server, "GET", f"/repos/{self.full_name}/keys?per_page=100"))

    def calls(self):
        return [json.loads(line) for line in self.record.read_text().splitlines()] if self.record.exists() else []

    def commits(self):
        return git("ls-remote", self.url, "refs/heads/master").split()[0]

    def fresh_clone(self, name):
        dest = self.tmp / name
        git("clone", "-q", self.url, str(dest))
        return dest


def task_status(stdout, name):
    """Status (ok, changed, skipping...) of the first host line after the task whose name contains ``name``."""
    lines = stdout.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("TASK [") and name in line:
            for after in lines[i + 1:]:
                if after.startswith(("ok:", "changed:", "skipping:", "fatal:", "included:")):
                    return after.split(":", 1)[0]
    return None


@pytest.fixture
def purge(workload, moto_reset, git_server, tmp_path):
    return Purge(workload, git_server, moto_reset, tmp_path)


def test_delete_cluster_keeps_deploy_key_and_config_repo_unless_purged(purge):
    both = sorted([purge.public, purge.other_key])
    head = purge.commits()

    kept = purge.run()
    assert kept.returncode == 0, kept.stdout[-5000:]
    assert purge.keys() == both and purge.commits() == head
    assert task_status(kept.stdout, "Remove Flux's deploy key from the config repository") == "skipping"
    # eksctl was pointed at the inventory's kubeconfig (it removes the cluster's entries from $KUBECONFIG).
    assert [c["KUBECONFIG"] for c in purge.calls()] == [str(purge.kube.kubeconfig_path)]

    checked = purge.run(check=True, purge_deploy_key=True, purge_config_repo=True)
    assert checked.returncode == 0, checked.stdout[-5000:]
    assert purge.keys() == both and purge.commits() == head
    assert task_status(checked.stdout, f"Remove the deploy key of Flux from {purge.full_name}") == "changed"
    assert task_status(checked.stdout, "Remove the cluster's directory from the checkout") == "changed"
    assert "-----BEGIN" not in checked.stdout + checked.stderr

    purged = purge.run(purge_deploy_key=True, purge_config_repo=True)
    assert purged.returncode == 0, purged.stdout[-5000:]
    assert "-----BEGIN" not in purged.stdout + purged.stderr
    assert purge.keys() == [ssh_keys.material(purge.other_key)]  # only the cluster's own key went
    call = purge.calls()[-1]
    assert call["argv"][:2] == ["delete", "cluster"]
    assert ssh_keys.material(purge.public) not in call["keys"]  # the key went before the cluster
    assert call["head"] == head                                 # the config repository changed after it
    clone = purge.fresh_clone("after")
    assert not (clone / "clusters" / CLUSTER).exists() and (clone / "clusters" / "other" / "flux").is_dir()
    log = git("-C", str(clone), "log", "--format=%H %s").splitlines()
    assert len(log) == 2 and log[0].split(" ", 1)[1] == f"teardown: remove cluster {CLUSTER}"
    assert log[1].startswith(head)

    # Again, with the key Secret gone: said so, nothing else changes.
    purge.kube.kubectl("delete", "secret", "flux-git-deploy", "-n", FLUX_NS)
    again = purge.run(purge_deploy_key=True, purge_config_repo=True)
    assert again.returncode == 0, again.stdout[-5000:]
    assert "No deploy key of Flux in cluster test1" in again.stdout
    assert task_status(again.stdout, "Remove the deploy key of Flux from") == "skipping"
    assert task_status(again.stdout, "Commit and push the removal") == "skipping"
    assert purge.keys() == [ssh_keys.material(purge.other_key)]
    assert purge.commits() == log[0].split()[0]


def test_purge_deploy_key_with_a_broken_key_fails_before_the_cluster_and_never_shows_it(purge):
    broken = ssh_keys.generate("ed25519")[0]
    broken = broken[:60] + b"!!!!" + broken[64:]
    purge.kube.kubectl("apply", "--server-side", "--field-manager", "tidepool.eks", "--force-conflicts", "-f", "-",
                       input=yaml.safe_dump({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                                             "metadata": {"name": "flux-git-deploy", "namespace": FLUX_NS},
                                             "data": {"identity": base64.b64encode(broken).decode()}}))
    res = purge.run(purge_deploy_key=True)
    assert res.returncode != 0
    out = res.stdout + res.stderr
    assert "not an unencrypted OpenSSH or PEM private key" in out, out[-4000:]
    body = [line for line in broken.decode(errors="replace").splitlines() if line and not line.startswith("-----")]
    assert not any(part in out for part in body) and base64.b64encode(broken).decode()[:40] not in out
    assert purge.calls() == [] and len(purge.keys()) == 2  # the cluster was not deleted, no key removed


def test_purge_deploy_key_on_flavour_2_removes_the_key_of_flux_system_before_the_cluster(workload, moto_reset,
                                                                                         git_server, tmp_path):
    """Flavour 2 keeps Flux's deploy key in the Secret ``flux-system`` (key ``identity``, what ``flux bootstrap``
    writes), not flavour 1's ``flux-git-deploy``: purge_deploy_key reads that one, and the key leaves GitHub before
    eksctl runs; the other cluster's key stays."""
    purge = Purge(workload, git_server, moto_reset, tmp_path, secret="flux-system")
    res = purge.run(purge_deploy_key=True, flux_version=2)
    assert res.returncode == 0, res.stdout[-5000:]
    assert "-----BEGIN" not in res.stdout + res.stderr
    assert purge.keys() == [ssh_keys.material(purge.other_key)]
    call = purge.calls()[-1]
    assert call["argv"][:2] == ["delete", "cluster"] and ssh_keys.material(purge.public) not in call["keys"]
