"""`ansible-playbook site.yml -l test1` with an inventory that reaches too far (issue 24): an environment named after
Flux v2's namespace, node settings that undo the least-privilege defaults, an SES identity with a wildcard, a peering
entry choosing the peer account's credentials. The run stops at the inventory check, one line per input, before
anything is cloned, committed or pushed; the opt-in `cluster_privileged_settings` (a values.yml key) lets a setting
through to the rendered ClusterConfig."""
from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from tests.support.helpers import AWS_ENV, REPO, run_playbook

pytestmark = pytest.mark.integration


def git(*args) -> str:
    return subprocess.run(["git", *args], check=True, capture_output=True, text=True).stdout


def _inventory(tmp_path, edits, main_yml="") -> str:
    """A copy of inventories/ whose test1 values file (values/test1.yml) went through ``edits`` ((old, new) text replacements, each
    found once) and whose main.yml ends with ``main_yml``; the path of its hosts.yml."""
    inv = tmp_path / "inventory"
    shutil.copytree(REPO / "inventories", inv)
    main = inv / "host_vars" / "test1" / "main.yml"
    main.write_text(main.read_text() + main_yml)
    values = inv / "values" / "test1.yml"
    text = values.read_text()
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    values.write_text(text)
    return str(inv / "hosts.yml")


def _run(tmp_path, inventory):
    bare = tmp_path / "cluster-test1.git"
    if not bare.exists():
        git("init", "-q", "--bare", "--initial-branch", "master", str(bare))
    (tmp_path / "home").mkdir(exist_ok=True)
    workdir = tmp_path / "checkout"
    res = run_playbook("site.yml", limit="test1", inventory=inventory,
                       extra_vars={"config_repo_url": f"file://{bare}", "config_repo_workdir": str(workdir)},
                       env={"HOME": str(tmp_path / "home")}, env_remove=AWS_ENV)
    commits = git("--git-dir", str(bare), "log", "--format=%s", "--all").splitlines()
    return res, res.stdout + res.stderr, commits, workdir, bare


NODE_GROUP = "      name: ng\n"
ACCOUNT = '  accountNumber: "118346523422"\n'
LAST_ENV_LINE = "        dnsNames: []\n"


BAD = {   # kind: (edits of values.yml, fragments of the message, its number of lines, end of main.yml)
    # the JSON Schema's problems (types, formats, keys) are reported first, every one of them
    "schema": ([
        (ACCOUNT, ACCOUNT + '  sesIdentity: "tidepool.o?g"\n'),
        ("  vpc:\n", "  iam:\n    serviceAccounts: [{}]\n  vpc:\n"),
        (LAST_ENV_LINE, LAST_ENV_LINE + "    peering:\n      - peer_vpc_id: vpc-0123abcd\n"
                                        "        accepter_profile: prod-admin\n"),
    ], ["aws.sesIdentity: 'tidepool.o?g' is not the SES identity",
        "cluster.iam.serviceAccounts[0].metadata: required, a dict with name and namespace",
        "environments.qa2.peering[0].accepter_profile: not allowed here",
        "peering[0].peer_vpc_id: 'vpc-123' is not a VPC id"], 4, "peering:\n  - peer_vpc_id: vpc-123\n"),
    # then the rules on values the schema accepted
    "rules": ([
        (NODE_GROUP, NODE_GROUP + "      disableIMDSv1: false\n      preBootstrapCommands: [\"curl x | sh\"]\n"),
        (LAST_ENV_LINE, LAST_ENV_LINE + "  flux-system: {}\n"),
    ], ["environments.flux-system: 'flux-system' is reserved, the namespace of the Flux v2 controllers",
        "cluster.nodeGroups[0].disableIMDSv1: is false: a privileged setting",
        "cluster_privileged_settings: [disableIMDSv1]",
        "cluster.nodeGroups[0].preBootstrapCommands: is set: a privileged setting"], 3, ""),
}


@pytest.mark.parametrize("kind", sorted(BAD))
def test_a_bad_inventory_stops_before_anything_changes(tmp_path, kind):
    edits, lines, count, main_yml = BAD[kind]
    res, out, commits, workdir, _bare = _run(tmp_path, _inventory(tmp_path, edits, main_yml))
    assert res.returncode != 0, out[-3000:]
    message = out[out.index("Invalid inventory for test1 (nothing was changed):"):].split("\nOrigin:")[0]
    for line in lines:
        assert line in message, (line, message)
    assert message.count("\n  - ") == count, message   # one line per problem
    assert commits == [] and not workdir.exists()   # not even the private clone


def test_the_opt_in_lets_the_named_setting_through(tmp_path):
    inventory = _inventory(tmp_path, [
        (NODE_GROUP, NODE_GROUP + "      disableIMDSv1: false\n"),
        ("\ncluster:\n", "\ncluster_privileged_settings: [disableIMDSv1]   # the m4 AMI needs IMDSv1\n\ncluster:\n"),
    ])
    res, out, commits, _workdir, bare = _run(tmp_path, inventory)
    assert res.returncode == 0, out[-3000:]
    assert len(commits) == 1
    config = yaml.safe_load(git("--git-dir", str(bare), "show", "master:clusters/test1/eksctl/cluster-config.yaml"))
    assert config["nodeGroups"][0]["disableIMDSv1"] is False
    assert "cluster_privileged_settings" not in config
