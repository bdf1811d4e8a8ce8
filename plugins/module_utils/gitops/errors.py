# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""The error of the GitOps cores (the flavour registry, the bootstrap and the flavours' bootstrap input)."""
from __future__ import annotations

from ansible_collections.tidepool.eks.plugins.module_utils.common.errors import TidepoolError


class FluxBootstrapError(TidepoolError):
    """Bad input or a refused change; one sentence naming the input or object at fault. ``missing`` is true when
    a TLS file does not exist (check mode then predicts without it)."""

    missing = False
