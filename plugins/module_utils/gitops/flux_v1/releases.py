# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""How Flux v1 installs charts: helm-operator 1.x ``HelmRelease`` objects (``helm.fluxcd.io/v1``), Flux's image
automation annotations (``fluxcd.io/automated``, ``fluxcd.io/tag.<service>``), the ``flux-helm-repositories``
Secret helm-operator reads its chart repositories from, and the values of fluxcloud (Flux v1 events to Slack).
"""
from __future__ import annotations

HELM_RELEASE_API_VERSION = "helm.fluxcd.io/v1"
HELM_RELEASE_KIND = "HelmRelease"
AUTOMATED_ANNOTATION = "fluxcd.io/automated"
TAG_ANNOTATION_PREFIX = "fluxcd.io/tag."
REPOSITORIES_SECRET = "flux-helm-repositories"


def image_annotations(image_policy: dict | None) -> dict:
    """``fluxcd.io/automated`` (``"true"`` when ``image_policy`` is not None) then one ``fluxcd.io/tag.<service>``
    per entry of ``image_policy`` (``{service: tag filter}``), in its order."""
    ann = {AUTOMATED_ANNOTATION: "true" if image_policy is not None else "false"}
    ann.update({f"{TAG_ANNOTATION_PREFIX}{svc}": tag for svc, tag in (image_policy or {}).items()})
    return ann


def helm_release(name: str, ns: str, chart: dict, values: dict, *, release_name: str | None = None,
                 image_policy: dict | None = None) -> dict:
    """A Flux v1 ``HelmRelease`` (``helm.fluxcd.io/v1``, helm-operator 1.x) with the annotations of
    :func:`image_annotations`."""
    return {
        "apiVersion": HELM_RELEASE_API_VERSION,
        "kind": HELM_RELEASE_KIND,
        "metadata": {"name": name, "namespace": ns, "annotations": image_annotations(image_policy)},
        "spec": {"releaseName": release_name or name, "chart": chart, "values": values},
    }


def repositories_secret(ns: str, repositories) -> dict:
    """The ``flux-helm-repositories`` Secret helm-operator reads its chart repositories from (research section
    9.2), one entry per ``(name, url)`` of ``repositories``; it holds repository URLs only, no credentials. The
    config repository (``pkgs.flux``) and flux_bootstrap apply this same object, so they never disagree about it."""
    repos = "apiVersion: v1\nrepositories:\n" + "".join(
        f"- name: {name}\n  url: {url}\n  cache: {name}-index.yaml\n" for name, url in repositories)
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": REPOSITORIES_SECRET, "namespace": ns},
            "stringData": {"repositories.yaml": repos}}


def fluxcloud_values(settings: dict) -> dict:
    """fluxcloud chart values from ``channel``, ``username``, ``secret`` and ``github_url``."""
    return {"slack": {"channel": settings["channel"], "username": settings["username"], "secret": settings["secret"]},
            "github": {"url": settings["github_url"]}}
