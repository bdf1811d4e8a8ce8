"""awx/definitions.yml as AWX receives it."""
from __future__ import annotations

import os

import yaml

from tests.support.helpers import REPO

ROOT = str(REPO)


class _Loader(yaml.SafeLoader):
    """PyYAML loader that reads Ansible's ``!unsafe`` as a plain string (what AWX receives)."""


_Loader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))


def load_definitions():
    with open(os.path.join(ROOT, "awx", "definitions.yml"), encoding="utf-8") as handle:
        return yaml.load(handle, Loader=_Loader)  # noqa: S506 - SafeLoader subclass
