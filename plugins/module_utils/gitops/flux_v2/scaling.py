# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""How many objects the Flux controllers reconcile at once: the arguments of Flux's "vertical scaling" guide
(fluxcd.io, "Flux installation > Configuration > Flux vertical scaling"), patched in ``flux-system/kustomization.yaml``
by :mod:`.controller_args`, before the lockdown's (:mod:`.lockdown`).

* ``--concurrent=10`` (Flux's default is 4) for helm-controller and kustomize-controller: every environment is one
  HelmRelease of the Tidepool chart and one Kustomization, and helm-controller holds a worker for the whole install
  (Helm's wait for the workloads). With 4 workers, 20 environments installed in 5 rounds: 128 s of installs on the
  local stack (benchmarks/gitops_loop.py, 2026-12-07); with 10, in 2.
* ``--requeue-dependency=5s`` (default 30s): an environment's HelmRelease and Kustomization wait for the shared
  services (``dependsOn``, :mod:`.tenancy`) and look again 5 s later instead of 30.

The guide also raises the controllers' CPU and memory limits; the components' own limits (helm-controller 1 CPU,
1 GiB) hold the platform of 20 environments on the local stack and are left as Flux ships them.

The local stack starts its controller processes with the same :data:`FLAGS` (``scripts/local_stack/gitops.py``;
``tests/unit/scripts/local_stack/test_gitops_args.py`` holds them equal), so the benchmark measures what a cluster gets.
"""
from __future__ import annotations

from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v2 import controller_args

#: Extra arguments per controller, appended to the container's ``args`` in this order (before the lockdown's).
FLAGS = {
    "kustomize-controller": ("--concurrent=10", "--requeue-dependency=5s"),
    "helm-controller": ("--concurrent=10", "--requeue-dependency=5s"),
}


def kustomize_patches() -> list[dict]:
    """The ``patches`` entries of ``flux-system/kustomization.yaml`` for :data:`FLAGS`."""
    return controller_args.kustomize_patches(FLAGS)


def apply(objects: list) -> list[dict]:
    """``objects`` with :data:`FLAGS` appended to the controllers' Deployments; the input is not modified."""
    return controller_args.append(objects, FLAGS)
