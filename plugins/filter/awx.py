# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Filters for awx/configure.yml (AWX job templates as code, docs/awx.md) and for the playbooks AWX drives
(C(cluster_hosts): the host pattern of the survey's cluster).

Each filter is documented in plugins/filter/<name>.yml: ansible-doc reads those only when this file has no
DOCUMENTATION, so it has none (tests/unit/plugins/filter/test_filter_docs.py).
"""
from __future__ import annotations

import re

from ansible.errors import AnsibleFilterError

#: An inventory host name as the survey may give it: no pattern character (``*``, ``?``, ``:``, ``,``, ``!``,
#: ``&``, ``~``, ``[``) can select more than the one host.
_HOST_NAME = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9_.-]*\Z", re.ASCII)


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


def cluster_hosts(cluster, groups, group="clusters"):
    """The ``hosts:`` pattern of a play for the AWX survey's ``tidepool_cluster``: ``group`` (every cluster, then
    narrowed by ``-l``) when ``cluster`` is empty or undefined, else ``<group>:&<cluster>`` for a ``cluster`` that
    names exactly one host of ``group``. ``groups``: Ansible's ``groups`` (group name -> host names).

    Raises AnsibleFilterError naming ``tidepool_cluster`` for anything else: a pattern (``*``, ``all``, ``te*``,
    ``a,b``, ``~regex``), a group name, or a name that is not a host of ``group``; the play then selects nothing
    and the run stops before any task.
    """
    name = "" if cluster is None else str(cluster)
    if not name.strip():
        return group
    hosts = list((groups or {}).get(group) or [])
    if not _HOST_NAME.match(name) or name not in hosts or name in (groups or {}):
        raise AnsibleFilterError(
            f"tidepool_cluster: {name!r} must name exactly one inventory host of the group {group} (one of: "
            f"{', '.join(sorted(hosts)) or 'none'}), not a host pattern or a group; nothing was run")
    return f"{group}:&{name}"


class FilterModule:
    """tidepool.eks AWX filters."""

    def filters(self):
        return {"awx_workflow_nodes": awx_workflow_nodes, "cluster_hosts": cluster_hosts}
