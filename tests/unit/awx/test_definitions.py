"""awx/definitions.yml against the awx.awx modules' argument specs, and awx/configure.yml passing every key."""
from __future__ import annotations

import glob
import importlib
import os
import re

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible_collections.awx.awx.plugins.module_utils import controller_api

from ansible_collections.tidepool.eks.plugins.filter.awx import awx_workflow_nodes
from tests.support.awx import load_definitions
from tests.support.helpers import REPO

ROOT = str(REPO)




class _Captured(Exception):
    pass


def argument_spec(module_name: str) -> dict:
    """The argument_spec the awx.awx module hands to ControllerAPIModule (captured, nothing connects)."""
    original = controller_api.ControllerAPIModule.__init__

    def capture(self, argument_spec=None, **kwargs):
        raise _Captured(argument_spec)

    controller_api.ControllerAPIModule.__init__ = capture
    try:
        module = importlib.import_module(f"ansible_collections.awx.awx.plugins.modules.{module_name}")
        with pytest.raises(_Captured) as caught:
            module.main()
    finally:
        controller_api.ControllerAPIModule.__init__ = original
    return caught.value.args[0]


def assert_valid(module_name: str, params: dict):
    result = ArgumentSpecValidator(argument_spec(module_name)).validate(dict(params))
    assert not result.error_messages, f"{module_name} {params.get('name')}: {result.error_messages}"


DEFS = load_definitions()
CONFIGURE = open(os.path.join(ROOT, "awx", "configure.yml"), encoding="utf-8").read()


@pytest.mark.parametrize("module_name,key", [
    ("project", "awx_project"), ("execution_environment", "awx_execution_environment"),
    ("inventory", "awx_inventory"), ("inventory_source", "awx_inventory_source"),
])
def test_single_objects_validate_and_every_key_is_passed(module_name, key):
    assert_valid(module_name, DEFS[key])
    for param in DEFS[key]:
        assert f"{key}.{param}" in CONFIGURE, f"awx/configure.yml does not pass {key}.{param}"


def test_credential_types_validate_and_inject_the_documented_env():
    for definition in DEFS["awx_credential_types"]:
        assert_valid("credential_type", definition)
    env = {name: value for d in DEFS["awx_credential_types"] for name, value in d["injectors"]["env"].items()}
    assert sorted(env) == ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "GITHUB_TOKEN"]
    extra = {name: value for d in DEFS["awx_credential_types"]
             for name, value in d["injectors"].get("extra_vars", {}).items()}
    assert list(extra) == ["aws_profile"]  # an empty AWS_PROFILE env breaks boto3; "" aws_profile means none
    fields = {f["id"]: f for d in DEFS["awx_credential_types"] for f in d["inputs"]["fields"]}
    for variable, template in {**env, **extra}.items():
        field = re.fullmatch(r"\{\{ (\w+) \}\}", template).group(1)
        assert field in fields, variable
    assert fields["aws_secret_access_key"]["secret"] and fields["github_token"]["secret"]


def test_credentials_validate_without_secret_values():
    types = {d["name"] for d in DEFS["awx_credential_types"]}
    for definition in DEFS["awx_credentials"]:
        assert definition["credential_type"] in types
        params = {k: v for k, v in definition.items() if k != "env"}
        params["inputs"] = {field: "x" for field in definition["env"]}
        assert_valid("credential", params)
        assert all(re.fullmatch(r"[A-Z_]+", variable) for variable in definition["env"].values())


def test_job_templates_validate_and_cover_every_playbook():
    credentials = {d["name"] for d in DEFS["awx_credentials"]}
    task = CONFIGURE[CONFIGURE.index("awx.awx.job_template:"):CONFIGURE.index("loop: \"{{ _awx_templates }}\"")]
    for definition in DEFS["awx_job_templates"]:
        assert_valid("job_template", definition)
        assert definition["survey_enabled"] and definition["survey_spec"]["spec"][0]["variable"] == "tidepool_cluster"
        assert set(definition["credentials"]) <= credentials
        for param in definition:
            assert f"item.{param}" in task, f"awx/configure.yml does not pass {param} to job_template"
    playbooks = {t["playbook"] for t in DEFS["awx_job_templates"]}
    present = {os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, "playbooks", "*.yml"))}
    assert present - playbooks - set(DEFS["awx_playbooks_without_template"]) == set(), \
        "a step playbook without a job template"
    assert "site.yml" in playbooks
    teardown = [t for t in DEFS["awx_job_templates"] if t["playbook"].endswith(("stop_services.yml", "delete_cluster.yml"))]
    assert len(teardown) == 2
    for definition in teardown:
        assert "confirm_delete" in [q["variable"] for q in definition["survey_spec"]["spec"]]


def test_survey_asks_cluster_and_environments():
    assert [q["variable"] for q in DEFS["awx_survey"]["spec"]] == ["tidepool_cluster", "tidepool_environments"]
    for path in glob.glob(os.path.join(ROOT, "playbooks", "*.yml")):
        if os.path.relpath(path, ROOT) in DEFS["awx_playbooks_without_template"]:
            continue
        with open(path, encoding="utf-8") as handle:
            plays = yaml.safe_load(handle)
        for play in plays:
            if "hosts" in play:
                assert "tidepool_cluster" in play["hosts"], f"{path} ignores the survey's cluster"


def test_workflow_chains_the_steps_in_pipeline_order():
    steps = DEFS["awx_workflow"]["steps"]
    names = {t["name"] for t in DEFS["awx_job_templates"]}
    assert all(f"tidepool.eks {s}" in names for s in steps)
    nodes = awx_workflow_nodes(steps, "tidepool.eks ", "Default")
    params = {k: v for k, v in DEFS["awx_workflow"].items() if k != "steps"}
    params.update(workflow_nodes=nodes, survey_spec=DEFS["awx_survey"], survey_enabled=True, inventory="x")
    assert_valid("workflow_job_template", params)
    assert [n["identifier"] for n in nodes] == steps
    assert nodes[0]["related"]["success_nodes"] == [{"identifier": steps[1]}]
    assert "related" not in nodes[-1]


def test_workflow_nodes_reject_bad_input():
    from ansible.errors import AnsibleFilterError
    with pytest.raises(AnsibleFilterError, match="no steps"):
        awx_workflow_nodes([], "p ", "o")
    with pytest.raises(AnsibleFilterError, match="duplicated"):
        awx_workflow_nodes(["a", "a"], "p ", "o")
