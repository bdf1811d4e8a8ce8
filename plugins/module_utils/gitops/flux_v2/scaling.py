# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""How soon and how many objects the Flux controllers reconcile: arguments of Flux's "vertical scaling" guide
(fluxcd.io, "Flux installation > Configuration > Flux vertical scaling"), patched in ``flux-system/kustomization.yaml``
by :mod:`.controller_args`, before the lockdown's (:mod:`.lockdown`; the order is :mod:`.customization`'s).

* ``--requeue-dependency=5s`` (default 30s) for kustomize-controller and helm-controller: an environment's
  HelmRelease and Kustomization wait for the shared services (``dependsOn``, :mod:`.tenancy`) and look again 5 s
  later instead of 30. The local stack ran with it before the render had it; now both take it from here.
* ``--concurrent`` stays at Flux's default (4). Measured on the local stack (benchmarks/gitops_loop.py, 20
  environments, 2026-12-07): with ``--concurrent=10`` the 20 Tidepool installs ran in two rounds instead of five, but
  each took about four times as long (the 2 cores were the limit: API server, Helm rendering, kwok) and the whole
  platform was Ready no sooner (200 s against 184 s after the run's first push). Measured again once the stack's
  kube-controller-manager no longer throttled its own client (its default 20 requests a second had been part of
  that limit): 148.6 s with 10 workers against 140.5 and 132.9 s with 4. The guide raises the controllers'
  memory limits with it (helm-controller holds every release it installs at once in memory); an operator with many
  more environments and larger control-plane capacity adds ``--concurrent`` and the limits together.

The local stack starts its controller processes with the same :data:`FLAGS` (``scripts/local_stack/gitops.py``;
``tests/unit/scripts/local_stack/test_gitops_args.py`` holds them equal), so the benchmark measures what a cluster gets.
"""
from __future__ import annotations

from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v2 import controller_args

#: Extra arguments per controller, appended to the container's ``args`` in this order (before the lockdown's).
FLAGS = {
    "kustomize-controller": ("--requeue-dependency=5s",),
    "helm-controller": ("--requeue-dependency=5s",),
}


def kustomize_patches() -> list[dict]:
    """The ``patches`` entries of ``flux-system/kustomization.yaml`` for :data:`FLAGS`."""
    return controller_args.kustomize_patches(FLAGS)


def apply(objects: list) -> list[dict]:
    """``objects`` with :data:`FLAGS` appended to the controllers' Deployments; the input is not modified."""
    return controller_args.append(objects, FLAGS)
