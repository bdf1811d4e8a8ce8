from __future__ import annotations

import os

import pytest

from ansible_collections.tidepool.eks.plugins.module_utils.common import plan as base
from ansible_collections.tidepool.eks.plugins.module_utils.repository import file_tree


def test_plan_apply_idempotent_and_prune(tmp_path):
    files = {"a/x.yaml": "x: 1\n", "a/b/y.yaml": "y: 2\n"}
    p = file_tree.plan(str(tmp_path), files, prune=["a"])
    assert p.create == ["a/b/y.yaml", "a/x.yaml"] and not p.update and not p.remove
    file_tree.apply(p)
    assert (tmp_path / "a/x.yaml").read_text() == "x: 1\n"
    assert oct((tmp_path / "a/x.yaml").stat().st_mode & 0o777) == "0o644"
    again = file_tree.plan(str(tmp_path), files, prune=["a"])
    assert not again.changed and len(again.unchanged) == 2
    # change one, drop one: update + removal (and the emptied directory goes too)
    p2 = file_tree.plan(str(tmp_path), {"a/x.yaml": "x: 2\n"}, prune=["a"])
    assert p2.update == ["a/x.yaml"] and p2.remove == ["a/b/y.yaml"]
    diff = p2.diff()
    assert {d["before_header"] for d in diff} == {"a/x.yaml", "a/b/y.yaml"}
    file_tree.apply(p2)
    assert not (tmp_path / "a/b").exists()


def test_files_outside_prune_dirs_are_kept(tmp_path):
    (tmp_path / "keep").mkdir()
    (tmp_path / "keep/k.yaml").write_text("k")
    p = file_tree.plan(str(tmp_path), {"a/x.yaml": "x"}, prune=["a"])
    file_tree.apply(p)
    assert (tmp_path / "keep/k.yaml").exists()


@pytest.mark.parametrize("bad", ["/etc/passwd", "../x", "a/../../x", ""])
def test_paths_escaping_root_are_refused_before_writing(tmp_path, bad):
    with pytest.raises(file_tree.TreeError):
        file_tree.plan(str(tmp_path), {"ok.yaml": "x", bad: "y"})
    assert os.listdir(tmp_path) == []


def test_a_write_the_disk_refuses_is_one_tree_error(tmp_path):
    plan = file_tree.plan(str(tmp_path), {"a/b.yaml": "x: 1\n"})
    (tmp_path / "a").write_text("a file where the directory should be")
    with pytest.raises(file_tree.TreeError, match=f"root: cannot write under {tmp_path}: "):
        file_tree.apply(plan)
    assert plan.changed and isinstance(plan, base.Plan)
