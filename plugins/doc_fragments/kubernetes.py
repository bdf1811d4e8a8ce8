# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Shared Kubernetes connection options of tidepool.eks (implemented by plugins/module_utils/k8s/options.py and
the client factory plugins/module_utils/k8s/client.py).

``extends_documentation_fragment: [tidepool.eks.kubernetes]``.
"""
from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  kubeconfig:
    description:
      - Path of the kubeconfig (C(~) expanded).
      - When unset, C(K8S_AUTH_KUBECONFIG), then C(KUBECONFIG), then C(~/.kube/config), as in C(kubernetes.core).
    type: path
  context:
    description:
      - Context of the kubeconfig to use.
      - When unset, C(K8S_AUTH_CONTEXT), then the kubeconfig's current context.
    type: str
notes:
  - The kubeconfig is read on the host that runs the task (the controller for the usual
    C(ansible_connection=local) cluster hosts).
requirements:
  - kubernetes >= 24.2.0 (Python client)
"""
