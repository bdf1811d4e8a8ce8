# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""``tidepool.eks.external_secret`` with ``purge: true``: delete every Secrets Manager secret of a cluster (teardown's
``purge_secrets``), or of some of its namespaces (the secrets role's ``secrets_purge_environments``: the stored values
of environments removed from the inventory), through the same listing, plan, diff and partial-failure report as named
secrets."""
from __future__ import annotations

from ansible_collections.tidepool.eks.plugins.module_utils.common import naming
from ansible_collections.tidepool.eks.plugins.module_utils.secrets import external_secret as core


def purge(client, cluster: str, *, namespaces: list | None = None, check_mode: bool = False,
          recovery_window: int = 30, force_delete: bool = False) -> dict:
    """Delete every secret of ``cluster`` (ids starting with ``<cluster>/``, another cluster's never), or, with
    ``namespaces`` (a list of namespace names), only those of ids ``<cluster>/<namespace>/<name>`` (``qa2`` never
    matches ``qa20``), as ``sync(state="absent")`` does for named ones: secrets already scheduled for deletion are
    left alone unless ``force_delete``; check mode deletes nothing. -> the module result (``deleted``,
    ``unchanged``, ``diff``).
    Raises :class:`~.documents.InputError` for a bad ``recovery_window`` or a namespace that is not a DNS label (before
    any call), :class:`~.external_secret.PartialFailure` (``result``: ``deleted`` before it, ``failed_secrets``,
    ``not_attempted``) when a delete fails."""
    core.check_recovery_window(recovery_window, force_delete)
    prefix = naming.secret_prefix(cluster)
    prefixes = [prefix]
    if namespaces is not None:
        bad = [ns for ns in namespaces if not naming.is_dns_label(ns)]
        if bad:
            raise core.InputError(f"namespaces: {', '.join(map(repr, bad))} not a namespace name (a DNS label: "
                                  "lower-case letters, digits, hyphens).")
        prefixes = [f"{prefix}{ns}/" for ns in sorted(set(namespaces))]
    # no namespace named: nothing to list (ListSecrets without a filter would list every secret of the account)
    current = {found.secret_id: found for found in (core.list_existing(client, cluster, prefixes) if prefixes else ())
               if any(found.secret_id.startswith(p) for p in prefixes)}
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
