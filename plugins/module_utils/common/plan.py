# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""The one Plan base: plan -> diff -> apply is the shape of every core (DESIGN "Style").

A core reads the current state, computes a plan (data, no side effects), and the module shell applies it
unless in check mode. Subclasses keep their own fields; the runner relies only on the interface here.
"""
from __future__ import annotations


class Plan:
    """What applying would change. ``changed`` says whether it changes anything; ``diff()`` gives what
    ``--diff`` shows (Ansible diff entries: a dict or a list of dicts with ``before``/``after``), never a
    secret value."""

    @property
    def changed(self) -> bool:
        raise NotImplementedError

    def diff(self):
        """The ``--diff`` entries of the plan (``{}`` when the plan has nothing to show)."""
        return {}
