# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Flux v2's notifications in place of fluxcloud: a notification-controller ``Provider`` (type ``slack``) and an
``Alert`` (``notification.toolkit.fluxcd.io/v1beta3``, the version the reference CRDs serve) that sends the events
of the cluster's sync, its releases and image automations to the Slack channel fluxcloud posted to.

The Provider reads the webhook URL from the Secret fluxcloud read (``pkgs.fluxcloud.secret``, default ``slack``),
key ``address`` (fluxcloud's key was ``url``). fluxcloud's ``githubUrl`` (commit links) has no equivalent.
"""
from __future__ import annotations

API_VERSION = "notification.toolkit.fluxcd.io/v1beta3"
PROVIDER = "slack"
ALERT = "flux"


def objects(namespace: str, settings: dict, sources) -> list[dict]:
    """``[Provider, Alert]`` in ``namespace`` from ``settings`` (``channel``, ``username``, ``secret``);
    ``sources``: ``((kind, namespace), ...)`` whose events are sent (every object of that kind there)."""
    provider = {"apiVersion": API_VERSION, "kind": "Provider", "metadata": {"name": PROVIDER, "namespace": namespace},
                "spec": {"type": "slack", "channel": settings["channel"], "username": settings["username"],
                         "secretRef": {"name": settings["secret"]}}}
    alert = {"apiVersion": API_VERSION, "kind": "Alert", "metadata": {"name": ALERT, "namespace": namespace},
             "spec": {"providerRef": {"name": PROVIDER}, "eventSeverity": "info",
                      "eventSources": [{"kind": kind, "name": "*", "namespace": ns} for kind, ns in sources]}}
    return [provider, alert]
