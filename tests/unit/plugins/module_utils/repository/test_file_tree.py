from __future__ import annotations

import os

import pytest

from ansible_collections.tidepool.eks.plugins.module_utils.common import plan as base
from ansible_collections.tidepool.eks.plugins.module_utils.repository import file_tree, safe_path


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


@pytest.fixture()
def linked_clone(tmp_path):
    """A clone where `clusters/c/flux/shared` is a committed link to a directory outside it, holding a file."""
    outside = tmp_path / "somewhere"
    outside.mkdir()
    (outside / "precious.yaml").write_text("mine\n")
    clone = tmp_path / "clone"
    (clone / "clusters/c/flux").mkdir(parents=True)
    os.symlink(outside, clone / "clusters/c/flux/shared")
    return clone, outside


def test_a_linked_prune_directory_is_refused_and_nothing_outside_is_deleted(linked_clone):
    clone, outside = linked_clone
    with pytest.raises(safe_path.UnsafePathError, match="clusters/c/flux/shared in .* is a symbolic link"):
        file_tree.plan(str(clone), {"clusters/c/flux/environments/x.yaml": "x"}, prune=["clusters/c/flux/shared"])
    assert (outside / "precious.yaml").read_text() == "mine\n"
    assert not (clone / "clusters/c/flux/environments").exists()


def test_a_write_through_a_linked_directory_is_refused_and_nothing_is_written(linked_clone):
    clone, outside = linked_clone
    with pytest.raises(safe_path.UnsafePathError, match="symbolic link"):
        file_tree.plan(str(clone), {"clusters/c/a.yaml": "a", "clusters/c/flux/shared/precious.yaml": "overwritten"})
    assert sorted(os.listdir(outside)) == ["precious.yaml"] and (outside / "precious.yaml").read_text() == "mine\n"
    assert not (clone / "clusters/c/a.yaml").exists()


def test_a_linked_file_in_a_prune_directory_is_refused(tmp_path):
    (tmp_path / "secret").write_text("private key\n")
    (tmp_path / "clone/a").mkdir(parents=True)
    os.symlink(tmp_path / "secret", tmp_path / "clone/a/x.yaml")
    with pytest.raises(safe_path.UnsafePathError, match="a/x.yaml in .* is a symbolic link"):
        file_tree.plan(str(tmp_path / "clone"), {}, prune=["a"])


def test_keep_and_prune_match_limit_what_is_pruned(tmp_path):
    for rel in ("d/ns/old.yaml", "d/ns/kept.yaml", "d/ns/README"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    p = file_tree.plan(str(tmp_path), {}, prune=["d"], keep=["d/ns/kept.yaml"], prune_match="*.yaml")
    assert p.remove == ["d/ns/old.yaml"]
