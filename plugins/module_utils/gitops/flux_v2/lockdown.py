# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Flux's multi-tenancy lockdown (fluxcd.io, "Flux installation > Configuration > Multi-tenancy lockdown"), as
patches to the components in ``flux-system/kustomization.yaml``, never by editing ``gotk-components.yaml``.

* :data:`FLAGS`: the extra arguments of each controller's Deployment. kustomize-controller and helm-controller
  refuse a source in another namespace (``--no-cross-namespace-refs=true``) and impersonate the namespace's
  ``default`` service account for a Kustomization or HelmRelease that names none
  (``--default-service-account=default``, which has no rights: fail closed; every rendered one names its own,
  :mod:`.tenancy`); image-reflector-controller refuses an ImagePolicy's ImageRepository in another namespace.
* :data:`NOT_LOCKED`: the controllers Flux's guide also locks that the collection cannot lock yet, each with why
  (the objects the flavour renders need the reference the flag would refuse).
* The Kustomization ``flux-system`` runs as ``kustomize-controller`` (cluster-admin through the release's
  ``cluster-reconciler`` binding): with a default service account it would otherwise run as ``flux-system/default``.

:func:`kustomize_patches` gives the ``patches`` of ``kustomization.yaml`` (what ``flux bootstrap`` users add),
:func:`apply` the same change to the objects ``flux_bootstrap`` applies, so Flux's own sync of ``flux-system``
changes nothing the module applied and the module's second run changes nothing Flux applied. The local stack
starts its controller processes with the same :data:`FLAGS` (``scripts/local_stack/gitops.py``; a unit test holds
them equal).
"""
from __future__ import annotations

import copy

from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v2 import controller_args

#: Extra arguments per controller, appended to the container's ``args`` in this order.
FLAGS = {
    "kustomize-controller": ("--no-cross-namespace-refs=true", "--default-service-account=default"),
    "helm-controller": ("--no-cross-namespace-refs=true", "--default-service-account=default"),
    "image-reflector-controller": ("--no-cross-namespace-refs=true",),
}

#: Controllers of Flux's lockdown guide left unlocked, and why (docs/flux.md "Multi-tenancy").
NOT_LOCKED = {
    "notification-controller": "the Alert flux/flux watches the Kustomizations of flux-system and each environment's "
                               "HelmReleases and ImageUpdateAutomations (events of other namespaces)",
    "image-automation-controller": "each environment's ImageUpdateAutomation pushes through the GitRepository "
                                   "flux-system/flux-system, whose deploy key must not be copied into the "
                                   "environments' namespaces",
    "source-controller": "its releases (v1.9) have no --no-cross-namespace-refs flag (it holds no reference to "
                         "another object)",
}

#: The Kustomization ``flux bootstrap`` creates and the service account it runs as under the lockdown.
SYNC_KUSTOMIZATION = "flux-system"
SYNC_SERVICE_ACCOUNT = "kustomize-controller"


def kustomize_patches() -> list[dict]:
    """The ``patches`` of ``flux-system/kustomization.yaml``: one JSON 6902 patch per controller of :data:`FLAGS`
    (``add /spec/template/spec/containers/0/args/-``, targeting the controller's Deployment by name,
    :mod:`.controller_args`), then the Kustomization ``flux-system``'s ``serviceAccountName``."""
    return controller_args.kustomize_patches(FLAGS) + [
        {"patch": f"- op: add\n  path: /spec/serviceAccountName\n  value: {SYNC_SERVICE_ACCOUNT}\n",
         "target": {"kind": "Kustomization", "name": SYNC_KUSTOMIZATION}}]


def apply(objects: list) -> list[dict]:
    """``objects`` (the components and sync objects of ``flux_bootstrap``) with :func:`kustomize_patches` applied:
    the flags appended to each controller's first container (a flag already there is not added twice), the
    Kustomization ``flux-system`` given its service account. The input is not modified."""
    out = []
    for obj in controller_args.append(objects, FLAGS):
        name = (obj.get("metadata") or {}).get("name")
        if obj.get("kind") == "Kustomization" and name == SYNC_KUSTOMIZATION and "kustomize" in obj["apiVersion"]:
            obj = copy.deepcopy(obj)
            obj["spec"]["serviceAccountName"] = SYNC_SERVICE_ACCOUNT
        out.append(obj)
    return out
