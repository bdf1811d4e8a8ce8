# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Optional third-party libraries: import them when present, report them when not.

A core that needs a library the controller may lack (``cryptography``, the ``kubernetes`` client) imports it
with :func:`optional_import`, so that the core itself always imports (ansible-doc, the sanity import test,
code paths that do not need the library), and the module shell reports the missing library with
``missing_required_lib(...)`` and the error returned here.
"""
from __future__ import annotations

import importlib


def optional_import(*names: str):
    """Import the modules ``names`` (dotted module names, e.g. ``"cryptography.x509"``).

    Returns ``(modules, error)``: the list of modules in the order asked and ``None``; or, when one cannot be
    imported, a list of ``None`` (one per name) and the ``ImportError`` of the first that failed.
    """
    try:
        return [importlib.import_module(name) for name in names], None
    except ImportError as exc:
        return [None] * len(names), exc
