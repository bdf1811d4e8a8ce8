"""docs/howto/first-cluster.md followed as written, offline (issue 28): a new operator's flavour-2 cluster.

Section 2's commands run as the page prints them (extracted from the page, `<cluster>` substituted) in a temporary
copy of inventories/ (the repository's is never touched), the keys the page lists are edited, then section 2's
`ansible-playbook playbooks/preflight.yml -l <cluster>` and section 3's `ansible-playbook site.yml -l <cluster>
--check --diff` run from the checkout with `-i` naming the copy, against the local stack: moto stands in for AWS
(account 123456789012), the git server's repository for the GitHub config repository. Where the page cannot be
followed offline the local stack's equivalent is used and said so below:

* the Flux components: section 2 deletes test2's mirror and digest, so they come from the flux CLI of the release
  (`flux install --export`), which the tools step installs into ~/.local/bin from GitHub; here the stack's flux CLI of
  the same release (`scripts/local-stack build flux-cli`) stands in for it on the PATH, and `flux version --client`
  runs as written;
* `~` is a temporary HOME (the checkouts, the components cache and the kubeconfig live there);
* `flux_git_url`: the page's "same SSH URL" has no SSH server on the local stack: the git server's smart-HTTP URL of
  the same repository (as host `local` does);
* `ansible-vault encrypt` and `--ask-vault-pass` prompt: `--vault-password-file` instead;
* section 1's Route 53 zone prerequisite: the zone is created in moto before the run;
* eksctl: a recording stand-in on the PATH (check mode must never run it).
"""
from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
import yaml

from tests.support import charts
from tests.support.helpers import MOTO_ACCOUNT, REPO, VENV_BIN, ansible_env, recap

pytestmark = pytest.mark.integration

PAGE = REPO / "docs" / "howto" / "first-cluster.md"
CLUSTER = "journey1"
REGION = "eu-west-1"
ENV = "staging"
ZONE = "journey.example.org"
DNS = f"app.{ZONE}"
IAM_USER = "journey-admin"
# the vendor secret of section 1, vaulted: its values must never reach the output
MONGO_PASSWORD = "Vend0r-Mongo-Pa55word-nev3r-printed"
VAULT_PASSWORD = "journey-vault-password"

#: what the local stack's git/kube env sets that a new operator does not have (the kubeconfig is the page's own)
NOT_THE_OPERATORS = ("KUBECONFIG", "K8S_AUTH_KUBECONFIG", "TIDEPOOL_EKS_CACHE")


def page() -> str:
    return PAGE.read_text()


def section(title_start: str) -> str:
    """The text of the page's `## <title_start>...` section."""
    text = page()
    match = re.search(rf"^## {re.escape(title_start)}.*?$(.*?)(?=^## |\Z)", text, re.S | re.M)
    assert match, f"{PAGE.name} has no section '## {title_start}'"
    return match.group(1)


def bash_lines(text: str) -> list[str]:
    """The commands of the ```bash blocks of ``text`` (comments stripped, continuation lines joined)."""
    lines = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split("   #")[0].split("  #")[0].strip() if "#" in line else line.strip()
            if line:
                lines.append(" ".join(line.split()))
    return lines


def the_command(lines: list[str], start: str) -> str:
    found = [line for line in lines if line.startswith(start)]
    assert len(found) == 1, f"{PAGE.name}: expected one command starting {start!r}, found {found}"
    return found[0]


def flux_release() -> str:
    defaults = yaml.safe_load((REPO / "roles" / "flux" / "defaults" / "main.yml").read_text())
    return defaults["flux_v2_release"]


def sh(command: str, cwd: Path, env: dict) -> str:
    """Run one of the page's shell commands as written; fail the test with its output when it fails."""
    proc = subprocess.run(["bash", "-euo", "pipefail", "-c", command], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, f"`{command}` failed ({proc.returncode}): {proc.stdout}{proc.stderr}"
    return proc.stdout


def git(*args: str) -> str:
    proc = subprocess.run(["git", *args], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, f"git {' '.join(args)} failed ({proc.returncode}): {proc.stderr}"
    return proc.stdout


def _all(client, operation: str, key: str, field: str, **kwargs) -> list[str]:
    """Every ``field`` of every page of ``operation`` (a failed call raises: the test fails, nothing is "absent")."""
    pages = client.get_paginator(operation).paginate(**kwargs)
    return sorted(item[field] for page_ in pages for item in page_[key])


def aws_state(endpoint: str) -> dict:
    """What moto holds, in the cluster's region and the stack's default one."""
    state = {}
    for region in sorted({REGION, "us-east-1"}):
        kw = {"region_name": region, "endpoint_url": endpoint}
        iam = boto3.client("iam", **kw)
        state[region] = {
            "buckets": sorted(b["Name"] for b in boto3.client("s3", **kw).list_buckets()["Buckets"]),
            "secrets": _all(boto3.client("secretsmanager", **kw), "list_secrets", "SecretList", "Name",
                            IncludePlannedDeletion=True),
            "roles": _all(iam, "list_roles", "Roles", "RoleName"),
            "policies": _all(iam, "list_policies", "Policies", "PolicyName", Scope="Local"),
            "stacks": _all(boto3.client("cloudformation", **kw), "list_stacks", "StackSummaries", "StackName"),
            "clusters": sorted(boto3.client("eks", **kw).list_clusters()["clusters"]),
            "vpcs": _all(boto3.client("ec2", **kw), "describe_vpcs", "Vpcs", "VpcId"),
        }
    return state


class Journey:
    """The operator's checkout-side state: a temporary copy of inventories/, a HOME, the stack's environment."""

    def __init__(self, tmp: Path, git_server, endpoint: str):
        self.root = tmp / "operator"                      # where the page's `cp` commands run
        shutil.copytree(REPO / "inventories", self.root / "inventories")
        self.inventory = self.root / "inventories" / "hosts.yml"
        self.home = tmp / "home"
        self.home.mkdir()
        self.endpoint = endpoint
        self.repo_name = f"cluster-{CLUSTER}-{tmp.name}"    # the page's cluster-<cluster>, one per test
        self.config_repo_url = git_server.create_repo(self.repo_name)
        self.flux_git_url = f"{git_server.http_url}{self.repo_name}.git"
        self.bare = git_server.root / f"{self.repo_name}.git"
        bindir = self.bindir = tmp / "bin"
        bindir.mkdir()
        self.eksctl_calls = tmp / "eksctl-calls"
        eksctl = bindir / "eksctl"
        eksctl.write_text(f"#!{sys.executable}\nimport sys\nopen({str(self.eksctl_calls)!r}, 'a')"
                          ".write(' '.join(sys.argv) + '\\n')\nsys.exit(3)\n")
        eksctl.chmod(eksctl.stat().st_mode | stat.S_IXUSR)
        self.vault_password_file = tmp / "vault-password"
        self.vault_password_file.write_text(VAULT_PASSWORD + "\n")
        self.env = ansible_env({"HOME": str(self.home)}, NOT_THE_OPERATORS)
        # the venv's ansible-* first, then the rest without any other flux CLI (the stack's env has one)
        rest = [d for d in self.env["PATH"].split(os.pathsep) if d and not (Path(d) / "flux").exists()]
        self.env["PATH"] = os.pathsep.join([str(bindir), *rest])
        assert self.env["AWS_ENDPOINT_URL"] == endpoint

    def sub(self, command: str) -> str:
        return command.replace("<cluster>", CLUSTER)

    def ansible_playbook(self, command: str, *extra: str) -> subprocess.CompletedProcess:
        """One of the page's ansible-playbook commands, run from the checkout with -i naming the copy."""
        argv = shlex.split(self.sub(command))
        assert argv[0] == "ansible-playbook", argv
        argv = [str(VENV_BIN / "ansible-playbook"), *argv[1:], "-i", str(self.inventory), *extra]
        return subprocess.run(argv, cwd=REPO, env=self.env, capture_output=True, text=True, timeout=600,
                              stdin=subprocess.DEVNULL)

    # -- section 2 ----------------------------------------------------------------------------------------------
    def copy_test2(self) -> None:
        lines = bash_lines(section("2. The inventory of your cluster"))
        for start in ("cp -r inventories/host_vars/test2 ", "cp inventories/values/test2.yml "):
            command = the_command(lines, start)
            assert "<cluster>" in command, command
            sh(self.sub(command), self.root, self.env)
        assert "add `<cluster>: {}` under `all.children.clusters.hosts` in `inventories/hosts.yml`" in " ".join(
            section("2. The inventory of your cluster").split())
        hosts = yaml.safe_load(self.inventory.read_text())
        assert set(hosts["all"]["children"]["clusters"]["hosts"]) >= {"test2"}
        hosts["all"]["children"]["clusters"]["hosts"][CLUSTER] = {}
        self.inventory.write_text(yaml.safe_dump(hosts, sort_keys=False))

    def edit_values(self, account: str = MOTO_ACCOUNT) -> None:
        path = self.root / "inventories" / "values" / f"{CLUSTER}.yml"
        values = yaml.safe_load(path.read_text())
        assert values["flux_version"] == 2                                   # "(keep it)"
        values["email"] = "ops@journey.example.org"
        values["aws"]["accountNumber"] = account                             # quoted: a str in YAML
        values["aws"]["iamUsers"] = [IAM_USER]
        assert values["kubeconfig"] == "~/.kube/config"                      # "~/.kube/config in test2's file"
        meta = values["cluster"]["metadata"]
        assert meta["name"] == "test2"
        meta.update(name=CLUSTER, region=REGION, version="1.34")
        values["cluster"]["vpc"]["cidr"] = "10.60.0.0/16"
        (group,) = values["cluster"]["nodeGroups"]
        group.update(instanceType="m5.large", desiredCapacity=2, minSize=1, maxSize=4)
        assert values["pkgs"]["datadog"] == {"enabled": False} and values["pkgs"]["sumologic"] == {"enabled": False}
        env = values["environments"].pop("qa2")                             # "rename qa2 to your environment"
        env["gitops"]["branch"] = "master"
        env["gateway"]["http"]["dnsNames"] = [DNS]
        env["gateway"]["https"]["dnsNames"] = [DNS]
        env["gateway"]["https"]["enabled"] = True
        values["environments"][ENV] = env
        text = yaml.safe_dump(values, sort_keys=False)
        assert f"accountNumber: '{account}'" in text                        # stays a quoted string
        path.write_text(text)

    def edit_main(self) -> None:
        path = self.root / "inventories" / "host_vars" / CLUSTER / "main.yml"
        lines = path.read_text().splitlines()
        out = []
        seen = set()
        for line in lines:
            key = line.split(":", 1)[0] if line and not line.startswith((" ", "#")) else None
            seen.add(key)
            if key == "config_repo_url":
                line = f"config_repo_url: {self.config_repo_url}"
            elif key == "config_repo_branch":
                line = "config_repo_branch: master"
            elif key == "flux_git_url":
                line = f"flux_git_url: {self.flux_git_url}"
            elif key in ("flux_v2_mirror_url", "flux_v2_components_sha256"):   # "delete ... and ..."
                continue
            out.append(line)
        assert {"config_repo_url", "config_repo_branch", "flux_git_url", "flux_v2_mirror_url",
                "flux_v2_components_sha256"} <= seen, seen
        path.write_text("\n".join(out) + "\n")

    def install_flux_cli(self) -> None:
        """Section 2's CLI: the stack's build of the release stands in for the tools step's download (on the PATH),
        then the page's `flux version --client` runs as written and must name the collection's release."""
        release = flux_release()
        text = section("2. The inventory of your cluster")
        assert f"`flux_v2_release`, {release}," in text, f"the page does not name the collection's release {release}"
        command = the_command(bash_lines(text), "flux version --client")
        (self.bindir / "flux").symlink_to(charts.flux_cli())
        assert sh(command, self.root, self.env).strip() == f"flux: {release}"
        assert f"flux: {release}" in text

    def iam_policies(self) -> list[str]:
        """Section 1's policies of a flavour-2 cluster: the `sed` command as written for each file of the table (the
        peering one only with peering), then `aws iam create-policy` - through boto3 (the AWS CLI is not among the
        checkout's tools); the names of the policies created."""
        text = section("1. Prerequisites")
        files = re.findall(r"^\| `docs/iam/([a-z_-]+)\.json` \|", text, re.M)
        assert files[:4] == ["preflight", "assets", "cluster", "secrets"], files
        lines = bash_lines(text)
        sed = the_command(lines, "sed -e ")
        create = the_command(lines, "aws iam create-policy ")
        assert sed == ("sed -e 's/<cluster>/mycluster/g; s/<region>/us-west-2/g; s/<account>/123456789012/g' "
                       "docs/iam/secrets.json > secrets-mycluster.json"), sed
        assert create == ("aws iam create-policy --policy-name tidepool-mycluster-secrets --policy-document "
                          "file://secrets-mycluster.json"), create
        iam = boto3.client("iam", region_name=REGION, endpoint_url=self.endpoint)
        names = []
        for step in files[:4]:
            command = (sed.replace("mycluster", CLUSTER).replace("us-west-2", REGION)
                       .replace("123456789012", MOTO_ACCOUNT).replace("secrets", step))
            sh(command.replace("docs/iam/", f"{REPO}/docs/iam/"), self.root, self.env)   # the checkout's docs/iam
            document = (self.root / f"{step}-{CLUSTER}.json").read_text()
            assert not re.search(r"<[a-z-]+>", document), f"{step}: a placeholder is left: {document}"
            json.loads(document)
            argv = shlex.split(create.replace("mycluster", CLUSTER).replace("secrets", step))
            name = argv[argv.index("--policy-name") + 1]
            assert argv[argv.index("--policy-document") + 1] == f"file://{step}-{CLUSTER}.json"
            iam.create_policy(PolicyName=name, PolicyDocument=document)   # fails the test on a refused document
            names.append(name)
        return names

    def vault(self) -> None:
        """Section 1's vendor secrets: host_vars/<cluster>/vault.yml, encrypted as the page says."""
        lines = bash_lines(section("1. Prerequisites"))
        encrypt = the_command(lines, "ansible-vault encrypt ")
        assert encrypt == "ansible-vault encrypt inventories/host_vars/<cluster>/vault.yml", encrypt
        path = self.root / "inventories" / "host_vars" / CLUSTER / "vault.yml"
        path.write_text(yaml.safe_dump({"secrets_vendor": {f"{ENV}/mongo": {
            "Scheme": "mongodb+srv", "Addresses": "cluster0.journey.mongodb.net", "Username": "tidepool",
            "Password": MONGO_PASSWORD, "Database": "admin", "Tls": "true",
            "OptParams": "retryWrites=true&w=majority"}}}))
        sh(f"{self.sub(encrypt)} --vault-password-file {shlex.quote(str(self.vault_password_file))}",
           self.root, self.env)
        assert path.read_text().startswith("$ANSIBLE_VAULT;")


def setup_journey(tmp: Path, git_server, endpoint: str, account: str = MOTO_ACCOUNT, cli: bool = True) -> Journey:
    """Sections 1 and 2 of the page, in order, for a fresh moto (the caller reset it). ``cli`` false: no flux CLI is
    installed."""
    j = Journey(tmp, git_server, endpoint)
    # section 1: the Route 53 zone of the environment's host names exists before the cluster step
    boto3.client("route53", region_name=REGION, endpoint_url=endpoint).create_hosted_zone(
        Name=f"{ZONE}.", CallerReference="journey")
    j.copy_test2()
    j.edit_values(account)
    j.vault()
    j.edit_main()
    if cli:
        j.install_flux_cli()
    return j


VAULT_ARGS = ("--vault-password-file",)   # + the file: instead of the page's --ask-vault-pass (a prompt)


@pytest.fixture(scope="module")
def preview(tmp_path_factory, moto_server, git_server):
    """Sections 1-3 on a fresh moto: the preflight and the check-mode run, with what AWS, the config repository,
    ~/.kube and eksctl held before and after."""
    import local_stack  # scripts/ (tests/conftest.py puts it on sys.path)

    local_stack.reset_moto(moto_server)
    tmp = tmp_path_factory.mktemp("first-cluster")
    j = setup_journey(tmp, git_server, moto_server)
    policies = j.iam_policies()
    repo_inventory = {p: p.read_bytes() for p in (REPO / "inventories").rglob("*") if p.is_file()}
    before = aws_state(moto_server)
    vault = (*VAULT_ARGS, str(j.vault_password_file))
    preflight = j.ansible_playbook(
        the_command(bash_lines(section("2. The inventory of your cluster")),
                    "ansible-playbook playbooks/preflight.yml"), *vault)
    check = j.ansible_playbook(
        the_command(bash_lines(section("3. Preview: the check-mode run")),
                    "ansible-playbook site.yml -l <cluster> --check"), *vault)
    (tmp / "preflight.out").write_text(preflight.stdout + preflight.stderr)
    (tmp / "check.out").write_text(check.stdout + check.stderr)
    return {
        "journey": j, "policies": policies, "preflight": preflight, "check": check, "aws_before": before,
        "aws_after": aws_state(moto_server),
        "refs": git("--git-dir", str(j.bare), "for-each-ref"),
        "objects": git("--git-dir", str(j.bare), "count-objects", "-v"),
        "repo_inventory_unchanged": repo_inventory == {
            p: p.read_bytes() for p in (REPO / "inventories").rglob("*") if p.is_file()},
    }


def test_section3_command_is_the_one_run():
    assert the_command(bash_lines(section("3. Preview: the check-mode run")), "ansible-playbook site.yml") == (
        "ansible-playbook site.yml -l <cluster> --check --diff")
    preflight = the_command(bash_lines(section("2. The inventory of your cluster")), "ansible-playbook playbooks/")
    assert preflight == "ansible-playbook playbooks/preflight.yml -l <cluster>"


def test_section1_iam_policies_are_created_as_written(preview):
    assert preview["policies"] == [f"tidepool-{CLUSTER}-{step}" for step in ("preflight", "assets", "cluster",
                                                                             "secrets")]
    assert set(preview["policies"]) <= set(preview["aws_before"][REGION]["policies"])


def test_preflight_passes(preview):
    proc = preview["preflight"]
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    assert recap(proc.stdout)[CLUSTER] == {**recap(proc.stdout)[CLUSTER], "failed": 0, "changed": 0}
    assert f"TASK [Check the AWS credentials, endpoint and account of {CLUSTER}]" in proc.stdout
    assert "Wrong AWS account" not in proc.stdout


def test_check_run_succeeds_and_changes_nothing_anywhere(preview):
    proc = preview["check"]
    assert proc.returncode == 0, proc.stdout[-8000:] + proc.stderr[-3000:]
    stats = recap(proc.stdout)[CLUSTER]
    assert stats["failed"] == 0 and stats["unreachable"] == 0 and stats["changed"] > 0, stats
    # no S3 bucket, no Secrets Manager secret, no IAM role or policy, no stack, cluster or VPC in moto
    assert preview["aws_after"] == preview["aws_before"]
    for state in preview["aws_after"].values():
        assert state["buckets"] == [] and state["secrets"] == [] and state["clusters"] == [], state
        assert not [r for r in state["roles"] if CLUSTER in r], state["roles"]
    # nothing committed or pushed to the config repository (still empty: no ref, no object)
    assert preview["refs"] == ""
    assert re.search(r"^count: 0$", preview["objects"], re.M), preview["objects"]
    assert re.search(r"^in-pack: 0$", preview["objects"], re.M), preview["objects"]
    assert f"TASK [tidepool.eks.config_repo : Commit and push the staged changes of {CLUSTER}] ***\nskipping:" in \
        proc.stdout
    # eksctl never ran; no kubeconfig was written; the repository's inventories/ untouched
    j = preview["journey"]
    assert not j.eksctl_calls.exists(), j.eksctl_calls.read_text()
    assert not (j.home / ".kube").exists()
    assert preview["repo_inventory_unchanged"]


def test_preview_shows_the_config_repositorys_new_files(preview):
    out = preview["check"].stdout
    new = re.findall(r"^--- before: (clusters/\S+) \(absent\)$", out, re.M)
    assert f"clusters/{CLUSTER}/eksctl/cluster-config.yaml" in new
    assert f"clusters/{CLUSTER}/flux/flux-system/gotk-sync.yaml" in new
    assert f"clusters/{CLUSTER}/flux/environments/{ENV}/helmrelease-tidepool.yaml" in new
    assert all(path.startswith(f"clusters/{CLUSTER}/") for path in new), new
    # what the page's edits put there: the cluster's name, region, VPC and node group, the environment's host name
    config = out.split(f"+++ after: clusters/{CLUSTER}/eksctl/cluster-config.yaml", 1)[1].split("--- before:", 1)[0]
    for line in (f"+  name: {CLUSTER}", f"+  region: {REGION}", "+  version: '1.34'", "+  cidr: 10.60.0.0/16",
                 "+- instanceType: m5.large"):
        assert line in config.splitlines(), line
    assert DNS in out


def test_check_mode_rendered_the_components_with_the_flux_cli_and_downloaded_nothing(preview):
    """No digest was copied by hand: the components are the CLI's `flux install --export`, cached under ~/.cache."""
    out = preview["check"].stdout
    release = flux_release()
    task = "The components the flux CLI installs (flux install --export)"
    assert f"TASK [tidepool.eks.flux : {task}] " in out, out[-3000:]
    assert out.split(f"TASK [tidepool.eks.flux : {task}] ", 1)[1].split("\n", 2)[1] == f"ok: [{CLUSTER}]"
    for task in ("Check mode does not download the components",
                 f"Download and verify https://github.com/fluxcd/flux2/releases/download/{release}/install.yaml"):
        marker = f"TASK [tidepool.eks.flux : {task}] "
        assert marker not in out or out.split(marker, 1)[1].split("\n", 2)[1] == f"skipping: [{CLUSTER}]", task
    j = preview["journey"]
    export = j.home / ".cache" / "tidepool-eks" / "flux2" / release / "flux-install-export.yaml"
    objects = [d for d in yaml.safe_load_all(export.read_text()) if d]
    deployments = {d["metadata"]["name"]: d for d in objects if d["kind"] == "Deployment"}
    assert set(deployments) == {"source-controller", "kustomize-controller", "helm-controller",
                                "notification-controller", "image-reflector-controller",
                                "image-automation-controller"}, sorted(deployments)
    assert not (j.home / ".cache" / "tidepool-eks" / "flux2" / release / "install.yaml").exists()


def test_preview_shows_the_buckets_to_create(preview):
    out = " ".join(preview["check"].stdout.split())
    for kind in ("data", "asset"):
        assert f"'tidepool-{CLUSTER}-{ENV}-{kind}: create (AES256, public access blocked, versioned, TLS-only " \
               "policy)'" in out


def test_preview_shows_the_eksctl_command(preview):
    """first-cluster.md section 3: the preview names 'the eksctl commands the cluster step would run'."""
    out = preview["check"].stdout
    assert preview["check"].returncode == 0
    assert "TASK [tidepool.eks.cluster : The eksctl commands the cluster step would run (check mode)]" in out
    assert "eksctl create cluster -f" in out, out[-4000:]


def test_preview_predicts_the_cluster(preview):
    out = preview["check"].stdout
    task = out.split("TASK [tidepool.eks.cluster : The EKS cluster of the ClusterConfig (eksctl)]", 1)[1].split(
        "TASK [", 1)[0]
    assert f"changed: [{CLUSTER}]" in task and f"name: {CLUSTER}" in task and f"{ENV}/blob" in task, task


def test_preview_shows_secret_ids_and_key_names_never_values(preview):
    out = preview["check"].stdout
    ids = re.findall(r"^\+\+\+ after: secretsmanager:(\S+)$", out, re.M)
    assert f"{CLUSTER}/{ENV}/mongo" in ids and f"{CLUSTER}/{ENV}/shoreline" in ids, ids
    assert len(ids) == len(set(ids)) > 10, ids
    # every key of every secret to store is shown as <new value>: no generated value, no vendor value
    blocks = [chunk.split("\n\n", 1)[0] for chunk in out.split("+++ after: secretsmanager:")[1:]]
    assert len(blocks) == len(ids)
    keys = 0
    for block in blocks:
        in_keys = False
        for line in block.splitlines()[2:]:
            if line == "+    keys:":
                in_keys = True
            elif in_keys and line.startswith("+        "):
                _name, _, value = line[len("+        "):].partition(": ")
                assert value == "<new value>", line
                keys += 1
            else:
                in_keys = False
    assert keys > 30, keys
    mongo = out.split(f"+++ after: secretsmanager:{CLUSTER}/{ENV}/mongo", 1)[1].split("\n\n", 1)[0]
    assert "Password: <new value>" in mongo, mongo
    for value in (MONGO_PASSWORD, "cluster0.journey.mongodb.net", VAULT_PASSWORD):
        assert value not in out + preview["check"].stderr


def test_preview_says_flux_would_be_installed_once_the_cluster_exists(preview):
    out = preview["check"].stdout
    line = ("TASK [tidepool.eks.flux : Flux would be installed once the cluster exists (check mode, no cluster yet): "
            f"{CLUSTER}]")
    assert line in out
    msg = " ".join(out.split(line, 1)[1].split("TASK [", 1)[0].split())
    assert f"changed: [{CLUSTER}]" in msg
    assert f"Check mode: the cluster {CLUSTER} does not exist yet (the cluster step predicted its creation)" in msg, msg
    j = preview["journey"]
    assert (f"a real run installs Flux v2 in the namespace flux-system, syncing {j.flux_git_url} (master), after "
            "creating it.") in msg, msg
    # the page quotes that line
    assert '"Flux would be installed once the cluster exists"' in " ".join(page().split())


def test_a_wrong_account_stops_the_preflight_and_the_preview(tmp_path, moto_reset, git_server):
    """Section 2 / section 3 / troubleshooting.md: credentials of another account than aws.accountNumber stop the
    preflight (and the check-mode run) naming both accounts; nothing is cloned, written or pushed."""
    j = setup_journey(tmp_path, git_server, moto_reset, account="210987654321")
    vault = (*VAULT_ARGS, str(j.vault_password_file))
    before = aws_state(moto_reset)
    cited = (REPO / "docs" / "howto" / "troubleshooting.md").read_text()
    assert ("`Wrong AWS account: the credentials are of account <id> (<arn>), but the inventory of <host> names "
            "aws.accountNumber <id>.`") in cited
    expected = re.compile(rf"Wrong AWS account: the credentials are of account {MOTO_ACCOUNT} \(arn:aws:\S+\), but "
                          rf"the inventory of {CLUSTER} names aws.accountNumber 210987654321\.")
    for command in (the_command(bash_lines(section("2. The inventory of your cluster")),
                                "ansible-playbook playbooks/preflight.yml"),
                    the_command(bash_lines(section("3. Preview: the check-mode run")),
                                "ansible-playbook site.yml -l <cluster> --check")):
        proc = j.ansible_playbook(command, *vault)
        out = " ".join(proc.stdout.split())
        assert proc.returncode != 0, out[-4000:]
        assert expected.search(out), out[-4000:]
        assert recap(proc.stdout)[CLUSTER]["changed"] == 0
        assert "Traceback" not in proc.stdout + proc.stderr
    assert aws_state(moto_reset) == before
    assert git("--git-dir", str(j.bare), "for-each-ref") == ""
    assert not (j.home / ".cache" / "tidepool-eks" / "checkouts").exists()   # nothing cloned
    assert not j.eksctl_calls.exists()


def test_a_mistyped_account_number_is_one_line_naming_the_key(tmp_path, moto_reset, git_server):
    """Section 2: a wrong inventory stops the preflight before anything is cloned, "each problem is one line naming
    the key"; section 6: `Invalid inventory for <cluster> (nothing was changed):` and one line per key."""
    j = setup_journey(tmp_path, git_server, moto_reset, account=MOTO_ACCOUNT[:-1])   # 11 digits, quoted
    proc = j.ansible_playbook(the_command(bash_lines(section("2. The inventory of your cluster")),
                                          "ansible-playbook playbooks/preflight.yml"),
                              *VAULT_ARGS, str(j.vault_password_file))
    assert proc.returncode != 0, proc.stdout[-4000:]
    head = f"Invalid inventory for {CLUSTER} (nothing was changed):"
    assert head in proc.stdout, proc.stdout[-4000:]
    problems = [line.strip() for line in proc.stdout.split(head, 1)[1].split("\n\n", 1)[0].splitlines()
                if line.strip().startswith("- ")]
    assert len(problems) == 1 and "aws.accountNumber" in problems[0], problems
    assert "Traceback" not in proc.stdout + proc.stderr
    assert git("--git-dir", str(j.bare), "for-each-ref") == ""
    assert not (j.home / ".cache" / "tidepool-eks" / "checkouts").exists()   # nothing cloned


def test_without_the_flux_cli_the_run_says_what_to_do(tmp_path, moto_reset, git_server):
    """Section 6's row `No flux CLI: ...`: section 2 done except the CLI; the check run stops before the config
    repository is touched, naming the tools step and flux_v2_cli."""
    j = setup_journey(tmp_path, git_server, moto_reset, cli=False)
    proc = j.ansible_playbook(the_command(bash_lines(section("3. Preview: the check-mode run")),
                                          "ansible-playbook site.yml -l <cluster> --check"),
                              *VAULT_ARGS, str(j.vault_password_file))
    out = " ".join(proc.stdout.split())
    assert proc.returncode != 0, out[-4000:]
    assert "No flux CLI: no `flux` on PATH nor in" in out, out[-4000:]
    assert "--tags tools`, or set flux_v2_cli" in out, out[-4000:]
    assert "| `No flux CLI: ...` or `The flux CLI ... is ..., not Flux v2.9.4 (flux_v2_release)` |" in page()
    assert git("--git-dir", str(j.bare), "for-each-ref") == ""


def test_a_flux_cli_of_another_release_is_refused(tmp_path, moto_reset, git_server):
    """A CLI that reports another release (here a stand-in printing v2.8.8) is refused before anything is rendered:
    its components would be another release's."""
    j = setup_journey(tmp_path, git_server, moto_reset, cli=False)
    old = j.bindir / "flux"
    old.write_text(f"#!{sys.executable}\nimport sys\nprint('{{\"flux\": \"v2.8.8\"}}') if sys.argv[1:2] == ['version']"
                   " else sys.exit(9)\n")
    old.chmod(old.stat().st_mode | stat.S_IXUSR)
    proc = j.ansible_playbook(the_command(bash_lines(section("3. Preview: the check-mode run")),
                                          "ansible-playbook site.yml -l <cluster> --check"),
                              *VAULT_ARGS, str(j.vault_password_file))
    out = " ".join(proc.stdout.split())
    assert proc.returncode != 0, out[-4000:]
    assert f"The flux CLI {old} is v2.8.8, not Flux {flux_release()} (flux_v2_release)" in out, out[-4000:]
    assert git("--git-dir", str(j.bare), "for-each-ref") == ""
