"""`ansible-playbook site.yml -l test1` renders the install guide's test1 cluster into a config repo (a local bare
repository), as a user runs it: rerun without a commit, --check --diff without a commit, bad input without a commit."""
from __future__ import annotations

import copy
import subprocess

import pytest
import yaml

from ansible_collections.tidepool.eks.plugins.module_utils.gitops import registry
from ansible_collections.tidepool.eks.plugins.module_utils.config import tree as config_tree
from tests.support import schemas
from tests.support.helpers import AWS_ENV, recap, run_playbook
from tests.support.inventory import load_values

pytestmark = pytest.mark.integration


def git(*args, cwd=None) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


class ConfigRepo:
    def __init__(self, tmp_path):
        self.bare = tmp_path / "cluster-test1.git"
        git("init", "-q", "--bare", "--initial-branch", "master", str(self.bare))
        self.workdir = tmp_path / "checkout"
        self.url = f"file://{self.bare}"
        self.home = tmp_path / "home"  # no ~/.aws here
        self.home.mkdir()

    def run(self, check=False, diff=False, **extra):
        extra_vars = {"config_repo_url": self.url, "config_repo_workdir": str(self.workdir), **extra}
        # Offline, as on a machine with no AWS credentials: the AWS steps end for test1 after the config step.
        return run_playbook("site.yml", limit="test1", extra_vars=extra_vars, check=check, diff=diff,
                            env={"HOME": str(self.home)}, env_remove=AWS_ENV)

    def commits(self) -> list[str]:
        """The commits of master, newest first; [] only when the (valid) bare repository has no master yet. Any
        other git failure (no repository, a broken one) fails the test instead of reading as "no commit"."""
        git("--git-dir", str(self.bare), "rev-parse", "--git-dir")  # raises unless it is a repository
        has_master = subprocess.run(["git", "--git-dir", str(self.bare), "show-ref", "--verify", "--quiet",
                                     "refs/heads/master"], check=False).returncode
        if has_master == 1:
            return []
        assert has_master == 0, f"git show-ref failed in {self.bare} (exit {has_master})"
        return git("--git-dir", str(self.bare), "log", "--format=%H %s", "master").splitlines()

    def files(self) -> dict:
        """{path: parsed YAML} of the master branch."""
        names = git("--git-dir", str(self.bare), "ls-tree", "-r", "--name-only", "master").split()
        return {n: yaml.safe_load(git("--git-dir", str(self.bare), "show", f"master:{n}")) for n in names}


@pytest.fixture()
def repo(tmp_path):
    return ConfigRepo(tmp_path)


@pytest.fixture()
def rendered(repo):
    """A first render of test1 into the test's own repository (for the tests that change it afterwards)."""
    res = repo.run()
    assert res.returncode == 0, res.stdout + res.stderr
    return res


@pytest.fixture(scope="module")
def first_render(tmp_path_factory):
    """One first render shared by the tests that change nothing (each asserts it: no new commit, nothing written)."""
    repo = ConfigRepo(tmp_path_factory.mktemp("config-role"))
    res = repo.run()
    assert res.returncode == 0, res.stdout + res.stderr
    return repo, res


def test_renders_and_pushes_the_test1_tree(first_render):
    repo, rendered = first_render
    assert recap(rendered.stdout)["test1"]["failed"] == 0
    [commit] = repo.commits()
    assert commit.split(" ", 1)[1].startswith("test1 config: update ClusterConfig")
    files = repo.files()
    expected = config_tree.render_tree(load_values("test1"), registry.flavour(1))
    assert set(files) == set(expected)
    assert files == expected  # every object, field by field, as the renderer (tested against the guide) builds it
    for obj in files.values():
        schemas.validate_object(obj)
    cfg = files["clusters/test1/eksctl/cluster-config.yaml"]
    assert cfg["metadata"] == {"name": "test1", "region": "us-west-2", "version": "1.34"}
    hr = files["clusters/test1/flux/environments/qa2/helmrelease-tidepool.yaml"]
    assert hr["spec"]["releaseName"] == "qa2-tidepool"


def test_offline_run_ends_aws_steps_with_a_warning(first_render):
    _, rendered = first_render
    out = rendered.stdout + rendered.stderr   # a module warning (stderr with the default callback)
    assert "No AWS credentials are configured for test1 (region us-west-2): the steps that call AWS end here" in out


def test_second_run_changes_nothing_and_makes_no_commit(first_render):
    repo, _ = first_render
    res = repo.run()
    assert res.returncode == 0, res.stdout
    assert recap(res.stdout)["test1"]["changed"] == 0, res.stdout
    assert len(repo.commits()) == 1


def test_repository_recreated_empty_is_rendered_again(repo, rendered):
    """`scripts/local-stack down --purge && up` recreates the config repository empty while the private clone
    keeps its branch: the next run starts the branch from nothing instead of failing."""
    import shutil
    shutil.rmtree(repo.bare)
    git("init", "-q", "--bare", "--initial-branch", "master", str(repo.bare))
    res = repo.run()
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr
    assert len(repo.commits()) == 1 and "clusters/test1/eksctl/cluster-config.yaml" in repo.files()


def test_check_diff_shows_change_and_commits_nothing(first_render):
    repo, _ = first_render
    values = load_values("test1")
    cluster = copy.deepcopy(values["cluster"])
    cluster["vpc"]["cidr"] = "10.48.0.0/16"
    envs = copy.deepcopy(values["environments"])
    envs["qa3"] = copy.deepcopy(envs["qa2"])
    head = repo.commits()
    res = repo.run(check=True, diff=True, cluster=cluster, environments=envs)
    assert res.returncode == 0, res.stdout
    assert recap(res.stdout)["test1"]["changed"] >= 1
    assert "-  cidr: 10.47.0.0/16" in res.stdout and "+  cidr: 10.48.0.0/16" in res.stdout
    assert "clusters/test1/flux/environments/qa3/helmrelease-tidepool.yaml" in res.stdout
    assert repo.commits() == head
    assert "10.47.0.0/16" in str(repo.files()["clusters/test1/eksctl/cluster-config.yaml"])
    # and the private checkout was not written either
    assert not (repo.workdir / "clusters/test1/flux/environments/qa3").exists()


def test_disabling_a_package_and_removing_an_environment_removes_their_files(repo, rendered):
    values = load_values("test1")
    pkgs = copy.deepcopy(values["pkgs"])
    pkgs["gloo"]["enabled"] = False
    res = repo.run(pkgs=pkgs, environments={"qa1": values["environments"]["qa2"]})
    assert res.returncode == 0, res.stdout
    files = repo.files()
    assert not any("/shared/gloo/" in p for p in files)
    assert not any("/environments/qa2/" in p for p in files)
    assert "clusters/test1/flux/environments/qa1/helmrelease-tidepool.yaml" in files
    subject = repo.commits()[0].split(" ", 1)[1]
    assert "environment qa1" in subject and "environment qa2" in subject and "shared/gloo" in subject


BAD = [
    ("cluster", lambda v: v["metadata"].update(name="test_1"), "cluster.metadata.name"),
    ("cluster", lambda v: v["vpc"].update(cidr="10.47.0.0/12"), "cluster.vpc.cidr"),
    ("environments", lambda v: v.update({"QA2": {}}), "environments.QA2"),
    ("pkgs", lambda v: v.update({"istio": {"enabled": True}}), "pkgs.istio: unknown package"),
]


@pytest.mark.parametrize("key,mutate,message", BAD, ids=[b[2] for b in BAD])
def test_bad_input_fails_with_one_message_and_commits_nothing(repo, key, mutate, message):
    value = copy.deepcopy(load_values("test1")[key])
    mutate(value)
    res = repo.run(**{key: value})
    assert res.returncode != 0
    out = res.stdout + res.stderr
    assert "Invalid inventory for test1 (nothing was changed)" in out
    assert message in out
    assert repo.commits() == []
    assert not repo.workdir.exists()


def test_missing_required_variable_is_named_by_argument_spec(repo):
    # offline (no AWS credentials, as test1's account is not the stack's): the argument spec names the variable
    res = run_playbook("site.yml", limit="test1", extra_vars={"config_repo_url": "", "config_repo_workdir": str(repo.workdir)},
                       env={"HOME": str(repo.home)}, env_remove=AWS_ENV)
    assert res.returncode != 0
    assert "config_repo_url" in res.stdout
    assert repo.commits() == []


def test_unreachable_repository_is_a_clear_error(tmp_path):
    res = run_playbook("site.yml", limit="test1", extra_vars={
        "config_repo_url": f"file://{tmp_path}/missing.git", "config_repo_workdir": str(tmp_path / "wd")},
        env={"HOME": str(tmp_path)}, env_remove=AWS_ENV)  # offline: test1's account is not the stack's
    assert res.returncode != 0
    assert "config_repo_url: cannot read" in res.stdout


def test_plain_relative_path_to_a_bare_repository(repo):
    """`-e config_repo_url=<path>`: a plain path, relative to where ansible-playbook runs, works like file://."""
    import os

    from tests.support.helpers import REPO
    repo.url = os.path.relpath(repo.bare, REPO)
    res = repo.run()
    assert res.returncode == 0, res.stdout[-3000:]
    assert len(repo.commits()) == 1
    assert "clusters/test1/eksctl/cluster-config.yaml" in repo.files()


def _inventory_copy(tmp_path, edit) -> str:
    """A copy of inventories/ whose test1 values file (values/test1.yml) went through ``edit(text) -> text``; the path of its hosts.yml."""
    import shutil
    from tests.support.helpers import REPO
    inv = tmp_path / "inventory"
    shutil.copytree(REPO / "inventories", inv)
    values = inv / "values" / "test1.yml"
    values.write_text(edit(values.read_text()))
    return str(inv / "hosts.yml")


def _run_with_inventory(repo, inventory):
    return run_playbook("site.yml", limit="test1", inventory=inventory,
                        extra_vars={"config_repo_url": repo.url, "config_repo_workdir": str(repo.workdir)},
                        env={"HOME": str(repo.home)}, env_remove=AWS_ENV)


def test_misspelt_key_fails_with_did_you_mean_and_commits_nothing(repo, tmp_path):
    """`enviroments:` in values.yml used to render the cluster with no environment at all (a silent change)."""
    inventory = _inventory_copy(tmp_path, lambda text: text.replace("\nenvironments:", "\nenviroments:"))
    res = _run_with_inventory(repo, inventory)
    out = res.stdout + res.stderr
    assert res.returncode != 0, out[-3000:]
    assert "Invalid inventory for test1 (nothing was changed)" in out
    assert "enviroments is not a values.yml key; did you mean environments?" in out
    assert recap(res.stdout)["test1"]["failed"] == 1
    assert repo.commits() == []
    assert not repo.workdir.exists()   # not even the private clone


def test_environment_listed_twice_stops_the_run_and_commits_nothing(repo, tmp_path):
    """YAML keeps the last of two equal keys: the values file's loader makes a duplicated environment an error."""
    inventory = _inventory_copy(tmp_path, lambda text: text + "  qa2:\n    hpa:\n      enabled: false\n")
    res = _run_with_inventory(repo, inventory)
    out = res.stdout + res.stderr
    assert res.returncode != 0, out[-3000:]
    assert "key 'qa2' is written twice in the same mapping" in out
    assert repo.commits() == []
    assert not repo.workdir.exists()
