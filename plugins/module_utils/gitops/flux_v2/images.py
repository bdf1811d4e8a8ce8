# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Flux v2 image automation (``image.toolkit.fluxcd.io/v1``, the version the reference CRDs serve): per automated
service an ``ImageRepository`` (scans the image's tags) and an ``ImagePolicy`` (picks the tag), and one
``ImageUpdateAutomation`` per namespace that commits the chosen tags to the config repository.

Translation of Flux v1's tag filters (``fluxcd.io/tag.<service>``), one rule each:

* ``glob:<pattern>`` (or a bare pattern, which Flux v1 read as a glob): ``filterTags.pattern`` =
  ``^<pattern>$`` with ``*`` -> ``.*`` and ``?`` -> ``.`` (everything else literal), policy ``alphabetical``
  (``asc``: the greatest matching tag). Flux v1 took the most recently *built* image among the matches; Flux v2
  orders tags by their text only, so give tags a sortable suffix (``develop-<sha>-<unix time>``) and a ``regex:``
  filter with a ``ts`` group to keep v1's "newest build" meaning.
* ``regex:<re>``: ``filterTags.pattern`` = ``<re>``; with a named group ``ts`` (``(?P<ts>[0-9]+)``) the policy is
  ``numerical`` (``asc``) over ``$ts``, otherwise ``alphabetical``.
* ``semver:<range>``: no tag filter, policy ``semver`` with that range.
"""
from __future__ import annotations

import re

API_VERSION = "image.toolkit.fluxcd.io/v1"
#: How often tags are scanned and the automation runs (Flux v1's default image poll was 5 minutes).
SCAN_INTERVAL = "5m"
AUTOMATION_INTERVAL = "5m"
#: The ImageUpdateAutomation of a namespace.
AUTOMATION_NAME = "images"


def _glob_regex(glob: str) -> str:
    out = []
    for char in glob:
        out.append(".*" if char == "*" else "." if char == "?" else re.escape(char))
    return "^" + "".join(out) + "$"


def policy(tag_filter: str) -> dict:
    """``{"filterTags": ..., "policy": ...}`` (``filterTags`` absent for semver) of a Flux v1 tag filter (see
    module docstring). Raises ValueError for an empty filter."""
    text = str(tag_filter)
    if not text or text in ("glob:", "regex:", "semver:"):
        raise ValueError(f"tag filter {tag_filter!r} is empty")
    if text.startswith("semver:"):
        return {"policy": {"semver": {"range": text[len("semver:"):]}}}
    if text.startswith("regex:"):
        pattern = text[len("regex:"):]
        if "(?P<ts>" in pattern:
            return {"filterTags": {"pattern": pattern, "extract": "$ts"}, "policy": {"numerical": {"order": "asc"}}}
        return {"filterTags": {"pattern": pattern}, "policy": {"alphabetical": {"order": "asc"}}}
    glob = text[len("glob:"):] if text.startswith("glob:") else text
    return {"filterTags": {"pattern": _glob_regex(glob)}, "policy": {"alphabetical": {"order": "asc"}}}


def image_repository(name: str, namespace: str, image: str) -> dict:
    return {"apiVersion": API_VERSION, "kind": "ImageRepository", "metadata": {"name": name, "namespace": namespace},
            "spec": {"image": image, "interval": SCAN_INTERVAL}}


def image_policy(name: str, namespace: str, tag_filter: str) -> dict:
    return {"apiVersion": API_VERSION, "kind": "ImagePolicy", "metadata": {"name": name, "namespace": namespace},
            "spec": {"imageRepositoryRef": {"name": name}, **policy(tag_filter)}}


def update_automation(namespace: str, source: dict, path: str, author_email: str) -> dict:
    """The namespace's ``ImageUpdateAutomation``: checks out the config repository (``source``: ``{kind, name,
    namespace}`` of its GitRepository), updates the setters (``$imagepolicy`` markers) under ``path`` from the
    namespace's ImagePolicies and pushes to the branch it checked out."""
    return {"apiVersion": API_VERSION, "kind": "ImageUpdateAutomation",
            "metadata": {"name": AUTOMATION_NAME, "namespace": namespace},
            "spec": {"interval": AUTOMATION_INTERVAL, "sourceRef": dict(source),
                     "git": {"commit": {"author": {"name": "fluxcdbot", "email": author_email},
                                        "messageTemplate": f"{namespace}: image tags from the image policies"}},
                     "update": {"path": path, "strategy": "Setters"}}}


def objects(namespace: str, image_policy_: dict | None, images: dict, source: dict, path: str,
            author_email: str) -> list[dict]:
    """Image automation of one namespace: nothing when ``image_policy_`` is None (not automated); else an
    ImageRepository and an ImagePolicy per ``{service: tag filter}`` (image from ``images``) and the
    ImageUpdateAutomation."""
    if image_policy_ is None:
        return []
    out = []
    for svc, tag_filter in image_policy_.items():
        out += [image_repository(svc, namespace, images[svc]), image_policy(svc, namespace, tag_filter)]
    out.append(update_automation(namespace, source, path, author_email))
    return out
