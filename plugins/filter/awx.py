# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Filters for awx/configure.yml (AWX job templates as code, docs/awx.md)."""
from __future__ import annotations

DOCUMENTATION = r"""
name: awx_workflow_nodes
short_description: Workflow nodes chaining the pipeline's job templates
description:
  - Turns a list of pipeline steps into the O(awx.awx.workflow_job_template#module:workflow_nodes) of a workflow
    job template; each node runs the job template C(<prefix><step>) and, on success, the next step.
positional: _input, prefix, organization
options:
  _input:
    description: Step names in pipeline order.
    type: list
    elements: str
    required: true
  prefix:
    description: Prefix of the job template names (C(tidepool.eks )).
    type: str
    required: true
  organization:
    description: Organization of the job templates.
    type: str
    required: true
"""

EXAMPLES = r"""
workflow_nodes: "{{ ['config', 'assets'] | tidepool.eks.awx_workflow_nodes('tidepool.eks ', 'Default') }}"
"""

RETURN = r"""
_value:
  description: One dict per step (C(identifier), C(unified_job_template), C(related.success_nodes)).
  type: list
  elements: dict
"""

from ansible.errors import AnsibleFilterError


def awx_workflow_nodes(steps, prefix, organization):
    """``workflow_nodes`` of ``awx.awx.workflow_job_template`` chaining ``steps`` in order.

    ``steps``: step names (``config``, ``assets``, ...); each node runs the job template ``<prefix><step>``
    of ``organization`` and, on success, the next step's node. Raises AnsibleFilterError on an empty
    or duplicated step list.
    """
    steps = list(steps or [])
    if not steps:
        raise AnsibleFilterError("awx_workflow_nodes: no steps to chain")
    if len(set(steps)) != len(steps):
        raise AnsibleFilterError(f"awx_workflow_nodes: duplicated steps in {steps}")
    nodes = []
    for index, step in enumerate(steps):
        node = {
            "identifier": step,
            "unified_job_template": {"name": f"{prefix}{step}", "type": "job_template",
                                     "organization": {"name": organization}},
        }
        if index + 1 < len(steps):
            node["related"] = {"success_nodes": [{"identifier": steps[index + 1]}]}
        nodes.append(node)
    return nodes


class FilterModule:
    """tidepool.eks AWX filters."""

    def filters(self):
        return {"awx_workflow_nodes": awx_workflow_nodes}
