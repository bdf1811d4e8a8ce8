# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""The chart mirror of an air-gapped cluster: ``helm_chart_mirror`` (values key), one URL that every chart source of
the render is rewritten to.

A mirror is a Helm chart repository (``http(s)://``, an ``index.yaml`` and the packaged charts, such as a
ChartMuseum, a Nexus / Artifactory Helm repository or the local stack's chart repository) or an OCI registry path
(``oci://<registry>/<path>``, such as Amazon ECR: ``oci://<account>.dkr.ecr.<region>.amazonaws.com/charts``, each
chart pushed with ``helm push <chart>.tgz oci://...``). It serves each chart by its name and version, the ones the
release would have installed: ``{"repository": <mirror>, "name", "version"}`` replaces every source, Helm repository
or git. A git chart without a version says it in its path (``charts/tidepool/0.1.7``: name ``tidepool``, version
``0.1.7``) or in ``name`` / ``version`` (``config.tidepool_chart.CHART_0_26``); one that says neither (the guide's
reloader from git ``master``) cannot be mirrored: :func:`config.validation.chart_mirror_errors` names it and how to
pin it before anything changes.
"""
from __future__ import annotations

import re

#: ``http(s)://host[:port][/path]`` or ``oci://registry[/path]``, no credentials in the URL (a mirror needing
#: credentials takes them from a Secret the operator creates, never from the inventory).
URL_PATTERN = r"\A(https?|oci)://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~/-]*)?\Z"

_PATH_VERSION = re.compile(r"(?:^|/)(?P<name>[A-Za-z0-9._-]+)/(?P<version>v?\d+\.\d+\.\d+[A-Za-z0-9.+-]*)/?$")


#: The name of the mirror among the chart repositories of a flavour that lists them (flavour 1's
#: ``flux-helm-repositories``).
REPOSITORY_NAME = "mirror"


def with_mirror(repositories, mirror: str | None) -> tuple:
    """``repositories`` (``((name, url), ...)``) with the mirror added last when ``mirror`` is set: the one list both
    the ``flux`` package of the render and ``flux_bootstrap`` (option ``chart_mirror``) write."""
    return tuple(repositories) + (((REPOSITORY_NAME, mirror),) if mirror else ())


def is_oci(url: str) -> bool:
    """Whether ``url`` is an OCI registry (``oci://``) rather than an HTTP chart repository."""
    return str(url).startswith("oci://")


def name_and_version(chart: dict) -> tuple[str | None, str | None]:
    """The chart's name and version as a mirror serves it: ``name`` / ``version``, else (a git chart) the last two
    components of ``path`` when the last is a version (``charts/tidepool/0.1.7``)."""
    name, version = chart.get("name"), chart.get("version")
    match = _PATH_VERSION.search(str(chart.get("path") or ""))
    if match and not version:
        version = match["version"]
        name = name or match["name"]
    if not name and chart.get("path"):
        name = str(chart["path"]).rstrip("/").rsplit("/", 1)[-1]
    return (str(name) if name else None), (str(version) if version else None)


def mirrored(chart: dict, mirror: str | None, where: str) -> dict:
    """``chart`` served by ``mirror`` (``{"repository": mirror, "name", "version"}``); ``chart`` itself when no mirror
    is set. Raises ValueError naming ``where`` (e.g. ``pkgs.reloader.chart``) when the chart has no version."""
    if not mirror:
        return chart
    name, version = name_and_version(chart)
    if not name or not version:
        raise ValueError(f"{where}: the chart mirror ({mirror}) serves charts by name and version, and this chart "
                         f"({_describe(chart)}) has no version; set {where}.version (and {where}.name) to the "
                         "chart the mirror holds")
    return {"repository": str(mirror).rstrip("/"), "name": name, "version": version}


def _describe(chart: dict) -> str:
    if "git" in chart:
        return f"git {chart.get('git')} {chart.get('path', '')}@{chart.get('ref', '')}"
    return f"{chart.get('repository')} {chart.get('name')}"
