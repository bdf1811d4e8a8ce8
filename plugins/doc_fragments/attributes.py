# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Descriptions of the module attributes of tidepool.eks (check_mode, diff_mode, idempotent).

``extends_documentation_fragment: [tidepool.eks.attributes]``; each module then gives ``support``
(``full``, ``partial`` or ``none``) and ``details`` per attribute. A module that only reads adds
``tidepool.eks.attributes.read_only`` (full check mode, no diff, idempotent) and gives none itself. Convention from
community.general's and amazon.aws's ``attributes`` fragments (``attributes.info_module``).
"""
from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Can run in C(check_mode) and return changed status prediction without modifying target.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in C(check_mode)), when in diff mode.
  idempotent:
    description:
      - When run twice in a row outside check mode, with the same arguments, the second invocation indicates no change.
      - This assumes that the system controlled/queried by the module has not changed in a relevant way.
"""

    # A module that reads only: the same in check mode, nothing to diff, never a change.
    READ_ONLY = r"""
options: {}
attributes:
  check_mode:
    support: full
    description: Reads only; runs the same in check mode.
  diff_mode:
    support: none
    description: Reads only.
  idempotent:
    support: full
    description: Never changes anything.
"""
