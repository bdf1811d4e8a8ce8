"""Git repositories for tests: commit files (or symbolic links) to a bare repository as someone else would."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path


def git(*args, cwd=None) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def commit_to(bare: Path, clone: Path, files: dict, message: str = "someone else's commit") -> Path:
    """Commit ``files`` (``{path: text}``, or ``{path: ("link", target)}`` for a symbolic link) to master of
    ``bare`` through the clone ``clone`` (made when missing) and push; -> the clone."""
    if not clone.exists():
        git("clone", "-q", str(bare), str(clone))
    for rel, content in files.items():
        (clone / rel).parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, tuple):
            os.symlink(content[1], clone / rel)
        else:
            (clone / rel).write_text(content)
    git("-C", str(clone), "add", "-A")
    git("-C", str(clone), "-c", "user.name=o", "-c", "user.email=o@example.com", "commit", "-qm", message)
    git("-C", str(clone), "push", "-q", "origin", "HEAD:master")
    return clone
