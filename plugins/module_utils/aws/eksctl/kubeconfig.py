# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""The kubeconfig file eksctl writes: where it is, and whether it already points at the cluster."""
from __future__ import annotations

import os


def expand_path(path: str | None) -> str | None:
    """``~`` and ``$HOME``/``${VAR}`` expanded (the guide's helper wrote a literal ``$HOME``; research 22.28)."""
    if not path:
        return path
    return os.path.abspath(os.path.expanduser(os.path.expandvars(str(path))))


def kubeconfig_checker(path: str | None):
    """A function endpoint -> bool telling whether the kubeconfig at ``path`` has a cluster with that server."""
    def has(endpoint):
        if not path or not endpoint or not os.path.exists(path):
            return False
        try:
            import yaml
            with open(path, encoding="utf-8") as fh:
                data = yaml.safe_load(fh) or {}
        except (OSError, ValueError, ImportError):
            return False
        except Exception:  # noqa: BLE001 - yaml.YAMLError: an unreadable kubeconfig is rewritten by eksctl
            return False
        return any((c.get("cluster") or {}).get("server") == endpoint for c in data.get("clusters") or [])
    return has
