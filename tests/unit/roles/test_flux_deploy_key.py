"""Flux's deploy key is read-only unless Flux must push: Flux v1 writes its sync tag (and the image automation
commits of every environment), Flux v2 pushes only for image automation, which every environment has
(``environments.<env>.gitops``). The flux role's ``flux_deploy_key_read_only`` default, as Ansible templates it,
and the one task that registers the key passes it on."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template
from ansible_collections.tidepool.eks.plugins.filter.gitops_flavour import gitops_flavour

ROLE = Path(__file__).resolve().parents[3] / "roles" / "flux"
ENVS = {"qa1": {"gitops": {"branch": "develop"}}}


def read_only(flux_version, environments) -> bool:
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    # inventory_values.gitops as the inventory role publishes it
    variables = {"inventory_values": {"gitops": gitops_flavour(flux_version), "environments": environments}}
    templar = Templar(loader=DataLoader(), variables=variables)
    return templar.template(trust_as_template(defaults["flux_deploy_key_read_only"])) is True


@pytest.mark.parametrize("flux_version,environments,expected", [
    (2, {}, True),       # nothing to push: read-only
    (2, ENVS, False),    # image automation commits tag updates
    (1, {}, False),      # Flux v1 writes its sync tag
    (1, ENVS, False),
])
def test_the_deploy_key_is_read_only_unless_flux_pushes(flux_version, environments, expected):
    assert read_only(flux_version, environments) is expected


def test_the_registered_key_uses_it():
    tasks = yaml.safe_load((ROLE / "tasks" / "main.yml").read_text())
    present = [t["tidepool.eks.github_deploy_key"] for t in tasks if "tidepool.eks.github_deploy_key" in t
               and t["tidepool.eks.github_deploy_key"].get("state", "present") == "present"]
    assert present and all(k["read_only"] == "{{ flux_deploy_key_read_only }}" for k in present), present
