# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""The customization of the Flux components, in the one order everything applies it: the controllers' scaling
(:mod:`.scaling`), then the multi-tenancy lockdown (:mod:`.lockdown`). Each of the two owns its flags; this module
owns their order (:data:`LAYERS`), which three consumers read:

* :func:`kustomize_patches`: the ``patches`` of ``flux-system/kustomization.yaml`` (Flux's bootstrap customization,
  :func:`.bootstrap.kustomization_file`);
* :func:`apply`: the same change made to the objects ``flux_bootstrap`` applies (:func:`.bootstrap.objects`), so
  Flux's own sync of ``flux-system`` changes nothing the module applied;
* :func:`controller_flags`: the extra arguments the local stack starts each controller process with
  (``scripts/local_stack/gitops.py``), equal to the rendered Deployment's (a unit test holds them equal).
"""
from __future__ import annotations

from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v2 import lockdown
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v2 import scaling

#: The layers in the order they patch the components; each has ``FLAGS``, ``kustomize_patches()`` and ``apply()``.
LAYERS = (scaling, lockdown)


def kustomize_patches() -> list[dict]:
    """Every layer's ``patches`` entries of ``flux-system/kustomization.yaml``, layer after layer."""
    return [patch for layer in LAYERS for patch in layer.kustomize_patches()]


def apply(objects: list) -> list[dict]:
    """``objects`` with every layer applied in :data:`LAYERS` order; the input is not modified."""
    for layer in LAYERS:
        objects = layer.apply(objects)
    return objects


def controller_flags(name: str) -> list[str]:
    """The extra arguments of controller Deployment ``name`` in the order its rendered container carries them
    (``[]`` for a controller no layer touches)."""
    return [arg for layer in LAYERS for arg in layer.FLAGS.get(name, ())]
