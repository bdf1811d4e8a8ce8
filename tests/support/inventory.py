"""The inventory's values.yml of a host, as the renderer receives it."""
from __future__ import annotations

import yaml

from tests.support.helpers import REPO


def load_values(host: str) -> dict:
    """``inventories/values/<host>.yml`` as a dict (the values.yaml keys of the install guide)."""
    return yaml.safe_load((REPO / "inventories" / "values" / f"{host}.yml").read_text())
