"""meta/runtime.yml's `aws` action group holds every module that takes the AWS connection options (doc fragment
tidepool.eks.aws), as the fragment promises: `module_defaults: {group/tidepool.eks.aws: ...}` reaches all of them."""
from __future__ import annotations

import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[3]


def _modules_with_aws_fragment() -> set[str]:
    found = set()
    for path in (REPO / "plugins" / "modules").glob("*.py"):
        doc = re.search(r'DOCUMENTATION\s*=\s*r?("""|\'\'\')(.*?)\1', path.read_text(), re.S)
        if doc and "tidepool.eks.aws" in (yaml.safe_load(doc.group(2)).get("extends_documentation_fragment") or []):
            found.add(path.stem)
    return found


def test_aws_action_group_lists_every_module_with_the_aws_fragment():
    runtime = yaml.safe_load((REPO / "meta" / "runtime.yml").read_text())
    modules = _modules_with_aws_fragment()
    assert modules, "no module extends the tidepool.eks.aws fragment: the scan is broken"
    assert set(runtime["action_groups"]["aws"]) == modules
