# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""The one error base of the collection's cores.

Every exception a core raises for a user to read derives from :class:`TidepoolError`: its message is one
sentence that names the input at fault (an option, an inventory variable, a server) and says what to do, and
never carries a secret value. The module runner (``common/runner.py``) turns any ``TidepoolError`` into
``fail_json(msg=str(exc))`` with no traceback; anything else is a bug and keeps Ansible's traceback.
"""
from __future__ import annotations


class TidepoolError(Exception):
    """Base of every error raised for the user; ``str(exc)`` is the whole message."""
