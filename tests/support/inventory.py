"""The inventory's values.yml of a host, as the renderer receives it."""
from __future__ import annotations

import yaml

from tests.support.helpers import REPO


def load_values(host: str) -> dict:
    """``inventories/values/<host>.yml`` as a dict (the values.yaml keys of the install guide)."""
    return yaml.safe_load((REPO / "inventories" / "values" / f"{host}.yml").read_text())


#: The top-level keys of a values file (plugins/module_utils/config/values_schema.py TOP_LEVEL_KEYS).
VALUES_KEYS = ("email", "aws", "kubeconfig", "logLevel", "cluster", "pkgs", "environments", "certificates",
               "flux_version", "cluster_privileged_settings", "helm_chart_mirror")


def write_host(inventory_file, host: str, variables: dict) -> dict:
    """Split ``variables`` of ``host`` for an inventory file at ``inventory_file``: the values keys go to
    ``values/<host>.yml`` beside it (read as data by the inventory role), the rest is returned as the host's
    variables for the inventory file."""
    from pathlib import Path

    values = {k: v for k, v in variables.items() if k in VALUES_KEYS}
    directory = Path(inventory_file).parent / "values"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{host}.yml").write_text(yaml.safe_dump(values))
    return {k: v for k, v in variables.items() if k not in VALUES_KEYS}


def the_one_error(values: dict, mutate) -> str:
    """The one error :func:`config.validation.validate` gives for a copy of ``values`` changed by ``mutate(copy)``
    (the test fails when there are none or several)."""
    import copy

    from ansible_collections.tidepool.eks.plugins.module_utils.config import validation

    bad = copy.deepcopy(values)
    mutate(bad)
    errors = validation.validate(bad)
    assert len(errors) == 1, errors
    return errors[0]
