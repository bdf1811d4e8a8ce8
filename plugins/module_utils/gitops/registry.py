# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""The GitOps flavours by ``flux_version``: :func:`flavour` returns the one to use.

``1`` is Flux v1 (fluxd, helm-operator, Tiller with TLS, kubernetes-external-secrets: the install guide's stack,
:mod:`gitops.flux_v1`); ``2`` the current stack (Flux v2, the External Secrets Operator, cert-manager 1.x,
:mod:`gitops.flux_v2`).
A new flavour is one package implementing :class:`gitops.flavour.Flavour` plus one entry in :data:`FLAVOURS`.
"""
from __future__ import annotations

from ansible_collections.tidepool.eks.plugins.module_utils.gitops.errors import FluxBootstrapError
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v1.flavour import FluxV1
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v2.flavour import FluxV2

#: flux_version -> the flavour.
FLAVOURS = {1: FluxV1(), 2: FluxV2()}
#: Versions designed for but not built yet, with what to do instead.
PLANNED: dict = {}
#: The flavour of a cluster whose inventory names none.
DEFAULT_VERSION = 1


def _choices() -> str:
    names = [str(v) for v in versions()]
    return " or ".join([", ".join(names[:-1]), names[-1]]) if len(names) > 1 else names[0]


def flavour(version=DEFAULT_VERSION):
    """The :class:`gitops.flavour.Flavour` of ``flux_version`` ``version`` (an int or its string). Raises
    :class:`gitops.errors.FluxBootstrapError` naming the version for a planned or unknown one."""
    try:
        number = int(version)
    except (TypeError, ValueError):
        raise FluxBootstrapError(f"flux_version={version!r} is not supported; use {_choices()}.") from None
    if number in PLANNED:
        raise FluxBootstrapError(f"flux_version={number}: {PLANNED[number]}")
    if number not in FLAVOURS:
        raise FluxBootstrapError(f"flux_version={number} is not supported; use {_choices()}.")
    return FLAVOURS[number]


def for_values(values: dict):
    """The flavour of an inventory's values: their ``flux_version``, :data:`DEFAULT_VERSION` when absent or
    empty. Raises :class:`gitops.errors.FluxBootstrapError` as :func:`flavour` does."""
    version = (values or {}).get("flux_version")
    return flavour(DEFAULT_VERSION if version in (None, "") else version)


def versions() -> list:
    """The ``flux_version`` values a module accepts (argument-spec ``choices``), sorted."""
    return sorted(FLAVOURS)


def secret_manifest_formats() -> list:
    """The ``manifest_format`` values of the secret manifests of every flavour, default first (the argument-spec
    ``choices`` of ``external_secret``; a flavour refuses the formats it has no equivalent for)."""
    return list(dict.fromkeys(f for fl in FLAVOURS.values() for f in fl.SECRET_MANIFEST_FORMATS))
