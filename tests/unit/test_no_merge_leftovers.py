"""No tracked file carries a merge conflict's markers, and every Python file of the project compiles (benchmarks and
scripts included, which the sanity tests do not import)."""
from __future__ import annotations

import py_compile
import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MARKER = re.compile(r"^(<{7}|>{7})( |$)", re.M)


def _tracked():
    out = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z"], capture_output=True, check=True).stdout
    return [REPO / p for p in out.decode().split("\0") if p]


def test_no_conflict_markers_in_tracked_files():
    bad = []
    for path in _tracked():
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, IsADirectoryError, FileNotFoundError):
            continue
        if MARKER.search(text):
            bad.append(str(path.relative_to(REPO)))
    assert not bad, f"merge conflict markers in {bad}"


def test_every_python_file_compiles(tmp_path):
    for path in _tracked():
        if path.suffix == ".py" and path.is_file():
            py_compile.compile(str(path), cfile=str(tmp_path / "x.pyc"), doraise=True)
