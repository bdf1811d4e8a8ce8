#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
from __future__ import annotations

DOCUMENTATION = r"""
module: manifest_tree
short_description: Write a tree of rendered files into a directory in one task, pruning stale ones
version_added: 0.1.0
description:
  - Internal helper of the C(config) and C(secrets) roles. Writes every file of O(files) under O(root) (atomic
    replace, only when the content differs) and removes files under the O(prune) sub-directories that are not
    in O(files).
  - Exists because one C(ansible.builtin.copy) task per manifest took about 1.3 seconds per file (50 seconds for
    the 38 files of the install guide's test1 cluster); this module does the same in one call.
  - Bad input (absolute paths, C(..), non-text content) fails before anything is written.
  - No path is read, written or removed through a symbolic link (a link committed into the config repository, for
    example C(clusters/<cluster>/flux/shared -> ~/somewhere)); the module fails naming the link, before any change.
options:
  root:
    description: Directory the paths of O(files) are relative to (created if missing).
    type: path
    required: true
  files:
    description: Relative path -> file content (text).
    type: dict
    required: true
  prune:
    description:
      - Sub-directories of O(root) the caller owns entirely; files there that are not in O(files) are removed.
    type: list
    elements: str
    default: []
  keep:
    description: Paths (relative to O(root)) under the O(prune) sub-directories that are never removed.
    type: list
    elements: str
    default: []
  prune_match:
    description: Only files whose name matches this pattern (fnmatch) are removed from the O(prune) sub-directories.
    type: str
    default: "*"
  mode:
    description: Mode of written files.
    type: raw
    default: "0644"
extends_documentation_fragment:
  - tidepool.eks.attributes
attributes:
  check_mode:
    support: full
    details: Reports what would be created, updated and removed; writes nothing.
  diff_mode:
    support: full
    details: One diff entry per created, updated or removed file.
  idempotent:
    support: full
    details: A second run with the same O(files) reports no change.
author:
  - Tidepool EKS maintainers (@tidepool-org)
"""

EXAMPLES = r"""
- name: Write the rendered manifests
  tidepool.eks.manifest_tree:
    root: "{{ config_repo_checkout }}"
    files: "{{ tree }}"
    prune: [clusters/test1/flux/shared]
"""

RETURN = r"""
created:
  description: Paths (relative to O(root)) written for the first time.
  returned: always
  type: list
  elements: str
updated:
  description: Paths whose content changed.
  returned: always
  type: list
  elements: str
removed:
  description: Paths removed from the O(prune) directories.
  returned: always
  type: list
  elements: str
unchanged:
  description: Number of files already up to date.
  returned: always
  type: int
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tidepool.eks.plugins.module_utils.common import runner
from ansible_collections.tidepool.eks.plugins.module_utils.repository import file_tree


def main():
    module = AnsibleModule(
        argument_spec=dict(
            root=dict(type="path", required=True),
            files=dict(type="dict", required=True),
            prune=dict(type="list", elements="str", default=[]),
            keep=dict(type="list", elements="str", default=[]),
            prune_match=dict(type="str", default="*"),
            mode=dict(type="raw", default="0644"),
        ),
        supports_check_mode=True,
    )
    p = module.params

    def work():
        plan = file_tree.plan(p["root"], p["files"], p["prune"], int(str(p["mode"]), 8), keep=p["keep"],
                              prune_match=p["prune_match"])
        runner.apply(module, plan, file_tree.apply)
        return dict(changed=plan.changed, created=plan.create, updated=plan.update, removed=plan.remove,
                    unchanged=len(plan.unchanged), diff=plan.diff)

    runner.run(module, work, errors=(ValueError,))


if __name__ == "__main__":
    main()
