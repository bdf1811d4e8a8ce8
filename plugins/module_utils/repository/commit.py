# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Commit messages of the config repository: what a step's staged changes are, in one subject line and a body
listing every file (used by the roles that publish the rendered tree through git)."""
from __future__ import annotations

from ansible_collections.tidepool.eks.plugins.module_utils.common import naming


def commit_message(cluster: str, name_status: str, step: str = "config") -> str:
    """A commit message for the staged changes of one step.

    ``name_status`` is the output of ``git diff --cached --name-status``. The subject says which units
    changed (ClusterConfig, shared services, environments); the body lists every file.
    """
    added, changed, removed = [], [], []
    units = []
    for line in name_status.splitlines():
        if not line.strip():
            continue
        status, _tab, path = line.partition("\t")
        path = path.split("\t")[-1]
        {"A": added, "D": removed}.get(status[:1], changed).append(path)
        rel = path[len(naming.cluster_dir(cluster)) + 1:] if path.startswith(naming.cluster_dir(cluster) + "/") else path
        parts = rel.split("/")
        if parts[0] == "eksctl":
            unit = "ClusterConfig"
        elif parts[:2] == ["flux", "shared"] and len(parts) > 2:
            unit = f"shared/{parts[2]}"
        elif parts[:2] == ["flux", "environments"] and len(parts) > 2:
            unit = f"environment {parts[2]}"
        elif parts[:2] == ["flux", "external-secrets"] and len(parts) > 2:
            unit = f"external-secrets/{parts[2]}"
        else:
            unit = "/".join(parts[:2])
        if unit not in units:
            units.append(unit)
    tallies = ((len(added), "added"), (len(changed), "changed"), (len(removed), "removed"))
    counts = ", ".join(f"{n} {w}" for n, w in tallies if n)
    shown = ", ".join(units[:6]) + (f" and {len(units) - 6} more" if len(units) > 6 else "")
    subject = f"{cluster} {step}: update {shown} ({counts})"
    body = "\n".join([f"A {p}" for p in added] + [f"M {p}" for p in changed] + [f"D {p}" for p in removed])
    return f"{subject}\n\nRendered by tidepool.eks (role {step}).\n\n{body}\n"
