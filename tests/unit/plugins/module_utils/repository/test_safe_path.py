from __future__ import annotations

import os

import pytest

from ansible_collections.tidepool.eks.plugins.module_utils.repository import safe_path


def test_plain_paths_existing_or_not_are_accepted(tmp_path):
    (tmp_path / "a").mkdir()
    assert safe_path.inside(str(tmp_path), "a/b/c.yaml") == str(tmp_path / "a/b/c.yaml")
    assert safe_path.inside(str(tmp_path), ".") == str(tmp_path)


def test_a_root_reached_through_a_link_is_fine(tmp_path):
    (tmp_path / "real").mkdir()
    os.symlink(tmp_path / "real", tmp_path / "alias")
    assert safe_path.inside(str(tmp_path / "alias"), "x.yaml") == str(tmp_path / "alias/x.yaml")


@pytest.mark.parametrize("link", ["a", "a/b", "a/b/c.yaml"])
def test_any_component_that_is_a_link_is_refused_by_name(tmp_path, link):
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "clone"
    (root / "a/b").mkdir(parents=True)
    target = root / link
    if target.is_dir():
        os.rename(target, tmp_path / "moved")
    os.symlink(outside, target)
    with pytest.raises(safe_path.UnsafePathError, match=f"{link} in {root} is a symbolic link \\(to {outside}\\)"):
        safe_path.inside(str(root), "a/b/c.yaml")


def test_dot_dot_is_refused(tmp_path):
    with pytest.raises(safe_path.UnsafePathError, match="resolves outside"):
        safe_path.inside(str(tmp_path), "../x")


def test_enclosing_worktree(tmp_path):
    (tmp_path / "repo/.git").mkdir(parents=True)
    assert safe_path.enclosing_worktree(str(tmp_path / "repo/a/not-yet")) == str(tmp_path / "repo")
    assert safe_path.enclosing_worktree("/") is None or os.path.exists("/.git")


def test_a_file_where_a_directory_is_expected_is_named(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a/shared").write_text("/somewhere")  # a link checked out with core.symlinks=false
    with pytest.raises(safe_path.UnsafePathError, match="a/shared in .* is a file where a directory is expected"):
        safe_path.inside(str(tmp_path), "a/shared/x.yaml")
