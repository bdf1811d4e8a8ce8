# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""The error of the Flux v1 -> v2 migration (``tidepool.eks.flux_migrate``)."""
from __future__ import annotations

from ansible_collections.tidepool.eks.plugins.module_utils.common.errors import TidepoolError


class MigrationError(TidepoolError):
    """A migration step cannot go on: the message names the objects at fault and what to do; nothing was changed
    by the step that raised it (every step checks before it writes)."""
