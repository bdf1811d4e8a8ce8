"""The inventory is data (issue 24): `site.yml -l test1 --tags config` as a user runs it, offline, on a copy of
inventories/ whose values file was edited. A template expression runs nothing and stays text; a role variable in the
values file, a nested-alias file or the old layout (host_vars/<host>/values.yml) stops the run before anything is
cloned or committed, with one message naming the key or the file; the AWX survey's cluster must be one host."""
from __future__ import annotations

import shutil
import subprocess
import time

import pytest
import yaml

from tests.support.helpers import AWS_ENV, REPO, recap, run_playbook

pytestmark = pytest.mark.integration

PREFIX = "Invalid inventory for test1 (nothing was changed): "


def git(*args) -> str:
    return subprocess.run(["git", *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture()
def inv(tmp_path):
    """A copy of inventories/, a bare config repository and a private workdir; ``inv.run()`` runs the config step."""
    class Inventory:
        root = tmp_path / "inventory"
        values = root / "values" / "test1.yml"
        bare = tmp_path / "cluster-test1.git"
        workdir = tmp_path / "checkout"
        canary = tmp_path / "canary"
        home = tmp_path / "home"

        def edit(self, change):
            data = yaml.safe_load(self.values.read_text())
            change(data)
            self.values.write_text(yaml.safe_dump(data))

        def run(self, **extra):
            return run_playbook("site.yml", limit="test1", inventory=self.root / "hosts.yml", args=["--tags", "config"],
                                extra_vars={"config_repo_url": f"file://{self.bare}",
                                            "config_repo_workdir": str(self.workdir), **extra},
                                env={"HOME": str(self.home)}, env_remove=AWS_ENV)

        def commits(self):
            try:
                return git("--git-dir", str(self.bare), "log", "--format=%H", "master").split()
            except subprocess.CalledProcessError:
                return []

    shutil.copytree(REPO / "inventories", Inventory.root)
    git("init", "-q", "--bare", "--initial-branch", "master", str(Inventory.bare))
    Inventory.home.mkdir()
    return Inventory()


def _refused(res, *needles):
    out = res.stdout + res.stderr
    assert res.returncode != 0, out[-3000:]
    for needle in needles:
        assert needle in " ".join(out.split()), out[-3000:]
    return out


def test_a_template_expression_runs_nothing_and_stays_text(inv):
    expression = f"{{{{ lookup('ansible.builtin.pipe', 'touch {inv.canary}') }}}}"
    inv.edit(lambda v: v["environments"]["qa2"].update(values={"note": expression}))
    res = inv.run()
    assert res.returncode == 0, res.stdout[-3000:]
    assert not inv.canary.exists(), "a template in the values file ran a command"
    release = yaml.safe_load(git("--git-dir", str(inv.bare), "show",
                                 "master:clusters/test1/flux/environments/qa2/helmrelease-tidepool.yaml"))
    assert release["spec"]["values"]["note"] == expression


def test_a_template_expression_in_a_checked_key_is_refused_as_text(inv):
    expression = f"{{{{ lookup('ansible.builtin.pipe', 'touch {inv.canary}') }}}}"
    inv.edit(lambda v: v.update(email=expression))
    _refused(inv.run(), "Invalid inventory for test1 (nothing was changed):", "email:")
    assert not inv.canary.exists()
    assert inv.commits() == []


@pytest.mark.parametrize("key, value", [("confirm_delete", "test1"), ("purge_buckets", True),
                                        ("aws_endpoint_url", "http://attacker.example"), ("secrets_backend", "git")])
def test_a_role_variable_in_the_values_file_stops_the_run(inv, key, value):
    inv.edit(lambda v: v.update({key: value}))
    res = inv.run()
    _refused(res, PREFIX, f"{key} is not a values.yml key", f"pass it with -e {key}=")
    assert recap(res.stdout)["test1"]["failed"] == 1
    assert inv.commits() == [] and not inv.workdir.exists()


def test_a_nested_alias_file_is_refused_quickly(inv):
    laughs = ['email: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    laughs += [f"x{i}: &x{i} [{','.join(['*' + ('a' if i == 0 else f'x{i - 1}')] * 10)}]" for i in range(9)]
    inv.values.write_text("\n".join(laughs) + "\n")
    started = time.monotonic()
    res = inv.run()
    _refused(res, PREFIX, f"{inv.values}: line 2: YAML alias *a refused")
    assert time.monotonic() - started < 60   # the loader refuses at the first alias (unit test: well under 5 s)
    assert inv.commits() == []


def test_the_old_layout_is_refused_naming_where_the_file_goes(inv):
    old = inv.root / "host_vars" / "test1" / "values.yml"
    text = inv.values.read_text().replace("email: derrick@tidepool.org",
                                          f"email: \"{{{{ lookup('ansible.builtin.pipe', 'touch {inv.canary}') }}}}\"")
    old.write_text(text)
    inv.values.unlink()
    res = inv.run()
    _refused(res, PREFIX, f"found {old}", f"move the values file to {inv.values}")
    assert not inv.canary.exists(), "the old layout's values were templated"
    assert inv.commits() == []


def test_a_values_key_on_the_command_line_still_overrides(inv):
    res = inv.run(logLevel="warn")
    assert res.returncode == 0, res.stdout[-3000:]
    assert len(inv.commits()) == 1


@pytest.mark.parametrize("pattern", ["*", "all", "te*", "test1,test2", "clusters"])
def test_the_awx_cluster_must_name_one_host(pattern, tmp_path):
    res = run_playbook("site.yml", extra_vars={"tidepool_cluster": pattern}, env={"HOME": str(tmp_path)},
                       env_remove=AWS_ENV)
    out = res.stdout + res.stderr
    assert res.returncode != 0, out[-3000:]
    assert f"tidepool_cluster: '{pattern}' must name exactly one inventory host" in " ".join(out.split())
    assert "TASK [" not in out and "PLAY RECAP" not in out, out[-3000:]
