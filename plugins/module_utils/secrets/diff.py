# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""The ``--diff`` output of ``tidepool.eks.external_secret``: one entry per changed secret, key names only.

Unchanged keys show :data:`REDACTED` on both sides, changed keys :data:`OLD_VALUE` -> :data:`NEW_VALUE`: no value of a
secret is ever part of a diff.
"""
from __future__ import annotations

REDACTED = "<redacted>"
OLD_VALUE = "<old value>"
NEW_VALUE = "<new value>"


def plan_diff(plan: list) -> list:
    """Ansible ``diff`` entries (one per changed secret) showing key names only; values redacted.

    Unchanged keys show ``<redacted>`` on both sides, changed keys ``<old value>`` -> ``<new value>``.
    """
    diffs = []
    for ch in plan:
        if not ch.actions:
            continue
        header = f"secretsmanager:{ch.secret_id}"
        desired = sorted((ch.doc.values or {}).keys())
        if "delete" in ch.actions:
            diffs.append({"before_header": header, "after_header": header + " (deleted)",
                          "before": {"state": "present"}, "after": {"state": "absent"}})
            continue
        if "create" in ch.actions:
            before = {"state": "absent"}
            after = {"state": "present", "keys": {k: NEW_VALUE for k in desired}}
        elif ch.put_value is not None:  # create-only: only the added keys are shown
            before = {"state": "present", "keys": {}}
            after = {"state": "present", "keys": {k: NEW_VALUE for k in ch.added}}
        elif "complete" in ch.actions:
            before = {"state": "scheduled for deletion"}
            after = {"state": "present", "keys_added_if_missing": desired}
        else:
            before = {"state": "scheduled for deletion" if "restore" in ch.actions else "present", "keys": {}}
            after = {"state": "present", "keys": {}}
            if ch.value_unknown:
                before["keys"] = {"(unknown)": OLD_VALUE}
                after["keys"] = {k: NEW_VALUE for k in desired}
            else:
                for k in sorted(set(desired) | set(ch.removed)):
                    if k in ch.added:
                        after["keys"][k] = NEW_VALUE
                    elif k in ch.removed:
                        before["keys"][k] = OLD_VALUE
                    elif k in ch.changed:
                        before["keys"][k], after["keys"][k] = OLD_VALUE, NEW_VALUE
                    else:
                        before["keys"][k] = after["keys"][k] = REDACTED
                if not before["keys"] and not after["keys"] and "update" not in ch.actions:
                    before.pop("keys"), after.pop("keys")
        if ch.tags_to_set:
            after["tags"] = dict(sorted(ch.tags_to_set.items()))
        diffs.append({"before_header": header, "after_header": header, "before": before, "after": after})
    return diffs
