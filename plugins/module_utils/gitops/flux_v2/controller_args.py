# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Extra arguments of the Flux controllers, the way Flux's bootstrap customization adds them: a JSON 6902 patch
(``add /spec/template/spec/containers/0/args/-``) per controller in ``flux-system/kustomization.yaml``, never an edit
of ``gotk-components.yaml`` (fluxcd.io, "Flux bootstrap customization").

``flags``: ``{controller Deployment name: (argument, ...)}``, appended in that order. :mod:`.lockdown` and
:mod:`.scaling` each own their flags and use these two functions, so the patches committed to the config repository
and the objects ``flux_bootstrap`` applies are built the same way.
"""
from __future__ import annotations

import copy


def kustomize_patches(flags: dict) -> list[dict]:
    """One ``patches`` entry of ``kustomization.yaml`` per controller of ``flags``, targeting its Deployment by name."""
    out = []
    for controller, args in flags.items():
        ops = "".join(f"- op: add\n  path: /spec/template/spec/containers/0/args/-\n  value: {arg}\n" for arg in args)
        out.append({"patch": ops, "target": {"kind": "Deployment", "name": controller}})
    return out


def append(objects: list, flags: dict) -> list[dict]:
    """``objects`` with ``flags`` appended to the first container's ``args`` of each named controller Deployment
    (an argument already there is not added twice). The input is not modified."""
    out = []
    for obj in objects:
        name = (obj.get("metadata") or {}).get("name")
        if obj.get("kind") == "Deployment" and name in flags:
            obj = copy.deepcopy(obj)
            args = obj["spec"]["template"]["spec"]["containers"][0].setdefault("args", [])
            args += [arg for arg in flags[name] if arg not in args]
        out.append(obj)
    return out
