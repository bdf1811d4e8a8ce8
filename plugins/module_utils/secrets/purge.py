# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""``tidepool.eks.external_secret`` with ``purge: true``: delete every Secrets Manager secret of a cluster (teardown's
``purge_secrets``), through the same listing, plan, diff and partial-failure report as named secrets."""
from __future__ import annotations

from ansible_collections.tidepool.eks.plugins.module_utils.common import naming
from ansible_collections.tidepool.eks.plugins.module_utils.secrets import external_secret as core


def purge(client, cluster: str, *, check_mode: bool = False, recovery_window: int = 30,
          force_delete: bool = False) -> dict:
    """Delete every secret of ``cluster`` (ids starting with ``<cluster>/``, another cluster's never), as
    ``sync(state="absent")`` does for named ones: secrets already scheduled for deletion are left alone unless
    ``force_delete``; check mode deletes nothing. -> the module result (``deleted``, ``unchanged``, ``diff``).
    Raises :class:`~.documents.InputError` for a bad ``recovery_window``, :class:`~.external_secret.PartialFailure`
    (``result``: ``deleted`` before it, ``failed_secrets``, ``not_attempted``) when a delete fails."""
    core.check_recovery_window(recovery_window, force_delete)
    prefix = naming.secret_prefix(cluster)
    current = {found.secret_id: found for found in core.list_existing(client, cluster, [prefix])
               if found.secret_id.startswith(prefix)}
    docs = []
    for sid in sorted(current):
        namespace, _sep, name = sid[len(prefix):].rpartition("/")
        docs.append(core.SecretDoc(namespace=namespace, name=name, secret_id=sid, metadata={}, values=None,
                                   source="ListSecrets"))
    plan = core.make_plan(docs, current, present=False, force_delete=force_delete)
    if not check_mode:
        try:
            core.apply_plan(client, plan, recovery_window=recovery_window, force_delete=force_delete)
        except core.PartialFailure as exc:
            exc.result = core.partial_result(exc, plan, docs, [], [], None)
            raise
    result = core.summarise(plan)
    result.update(changed=bool(result["deleted"]), diff=core.plan_diff(plan))
    return result
