"""Every AWX job template of awx/definitions.yml, executed the way AWX executes it: ansible-runner with the
template's playbook, the launch limit, the template's extra vars plus the survey's answers, and the
environment (and extra vars) its credential types inject; against the local stack. Each run succeeds,
acts on the cluster the survey names, and a second run changes nothing."""
from __future__ import annotations

import os
import sys

import ansible_runner
import jinja2
import pytest

from tests.support.helpers import LOCAL_FLAVOUR1_VARS, REPO
from tests.support.awx import load_definitions

pytestmark = pytest.mark.integration

DEFS = load_definitions()
TEARDOWN = ("stop_services", "delete_cluster")


def _ordered_templates():
    """Present templates: the steps in pipeline order, then site, then the teardown playbooks."""
    by_step = {t["playbook"].rsplit("/", 1)[-1][:-4]: t for t in DEFS["awx_job_templates"]}
    order = [s for s in DEFS["awx_workflow"]["steps"] if s not in TEARDOWN] + ["site"] + list(TEARDOWN)
    return [by_step[s] for s in order if s in by_step and (REPO / by_step[s]["playbook"]).is_file()]


TEMPLATES = _ordered_templates()


def injected(template: dict, inputs: dict) -> tuple[dict, dict]:
    """(env, extra_vars) the template's credentials inject, rendered as AWX does (unset input -> "")."""
    types = {t["name"]: t for t in DEFS["awx_credential_types"]}
    credentials = {c["name"]: c for c in DEFS["awx_credentials"]}
    env, extra = {}, {}
    for name in template.get("credentials", []):
        injectors = types[credentials[name]["credential_type"]]["injectors"]
        for target, source in ((env, injectors.get("env", {})), (extra, injectors.get("extra_vars", {}))):
            for key, tmpl in source.items():
                target[key] = jinja2.Environment(autoescape=False).from_string(tmpl).render(**inputs)
    return env, extra


def launch(template: dict, tmp_path, stack_env: dict, run: int):
    inputs = {"aws_access_key_id": stack_env["AWS_ACCESS_KEY_ID"],
              "aws_secret_access_key": stack_env["AWS_SECRET_ACCESS_KEY"],
              "github_token": stack_env["GITHUB_TOKEN"]}          # aws_session_token, aws_profile: unset
    env, cred_extra = injected(template, inputs)
    answers = {"tidepool_cluster": "local", "tidepool_environments": "", "confirm_delete": "local"}
    survey = {q["variable"]: answers[q["variable"]] for q in template["survey_spec"]["spec"]}
    # `local` as flavour 1, like the other local-stack modules before test_site_local_flux2 (the GitOps controllers
    # Flux v2's wait needs start later in the session): what is tested here is AWX's credentials and survey
    extravars = {**LOCAL_FLAVOUR1_VARS, **template.get("extra_vars", {}), **survey, **cred_extra}
    env["PATH"] = f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ.get('PATH', '')}"
    env["ANSIBLE_NOCOLOR"] = "1"
    private = tmp_path / f"{template['name'].split()[-1]}-{run}"
    private.mkdir()
    return ansible_runner.run(
        private_data_dir=str(private),
        project_dir=str(REPO), playbook=template["playbook"], inventory=str(REPO / "inventories" / "hosts.yml"),
        limit="local", extravars=extravars, envvars=env, quiet=True, timeout=1200,
    )


@pytest.fixture(scope="module")
def stack_env(local_stack_env):
    return local_stack_env


@pytest.mark.parametrize("template", TEMPLATES, ids=[t["name"].split()[-1] for t in TEMPLATES])
def test_job_template_runs_and_reruns_unchanged(template, stack_env, tmp_path):
    first = launch(template, tmp_path, stack_env, 1)
    out = first.stdout.read()
    assert first.status == "successful" and first.rc == 0, out[-6000:]
    assert first.stats["ok"].get("local", 0) > 0, "the survey's cluster was not selected: " + out[-2000:]
    assert not first.stats["failures"] and not first.stats["dark"]
    second = launch(template, tmp_path, stack_env, 2)
    out2 = second.stdout.read()
    assert second.status == "successful", out2[-6000:]
    assert second.stats["changed"].get("local", 0) == 0, out2[-6000:]


def test_every_present_step_playbook_is_covered():
    # every template, launched above or not (migrate_flux_v2 needs a flavour-1 cluster: test_migrate_flux_v2.py)
    covered = {t["playbook"] for t in DEFS["awx_job_templates"]} | set(DEFS["awx_playbooks_without_template"])
    assert {str(p.relative_to(REPO)) for p in (REPO / "playbooks").glob("*.yml")} <= covered


# ------------------------------------------------------------------------------ credentials: what the playbook needs
def _reached(path, seen=None):
    """Every playbook and task file ``path`` runs (import_playbook, roles, include/import_role with tasks_from,
    include/import_tasks, blocks), as repository paths."""
    import yaml

    seen = set() if seen is None else seen
    path = path.resolve()
    if path in seen or not path.is_file():
        return seen
    seen.add(path)

    def role(name, tasks_from="main"):
        _reached(REPO / "roles" / name.split(".")[-1] / "tasks" / f"{tasks_from}.yml", seen)

    def tasks(items):
        for item in items or []:
            if not isinstance(item, dict):
                continue
            if "import_playbook" in item or "ansible.builtin.import_playbook" in item:
                _reached(path.parent / (item.get("import_playbook") or item["ansible.builtin.import_playbook"]), seen)
            for key in ("pre_tasks", "tasks", "post_tasks", "handlers", "block", "rescue", "always"):
                tasks(item.get(key))
            for entry in item.get("roles") or []:
                role(entry if isinstance(entry, str) else entry["role"])
            for key in ("include_role", "import_role", "ansible.builtin.include_role", "ansible.builtin.import_role"):
                if key in item:
                    role(item[key]["name"], item[key].get("tasks_from", "main"))
            for key in ("include_tasks", "import_tasks", "ansible.builtin.include_tasks", "ansible.builtin.import_tasks"):
                if key in item:
                    target = item[key] if isinstance(item[key], str) else item[key]["file"]
                    assert "{{" not in target, f"{path}: templated task file {target}: extend this walker"
                    _reached(path.parent / target, seen)

    tasks(yaml.safe_load(path.read_text()))
    return seen


def needed_credentials(playbook: str) -> set[str]:
    """The credentials a playbook uses: AWS when it runs the AWS preflight or talks to the cluster (on EKS the
    kubeconfig authenticates with AWS credentials, and the context check calls eks:DescribeCluster); GitHub when
    one of its task files uses the GitHub token (github_token, GITHUB_TOKEN)."""
    files = _reached(REPO / playbook)
    names = {str(f.relative_to(REPO)) for f in files}
    out = set()
    if names & {"playbooks/tasks/aws_preflight.yml", "roles/inventory/tasks/kubernetes.yml"}:
        out.add("tidepool.eks AWS")
    if any(("github_token" in f.read_text()) or ("GITHUB_TOKEN" in f.read_text()) for f in files):
        out.add("tidepool.eks GitHub")
    return out


@pytest.mark.parametrize("template", DEFS["awx_job_templates"], ids=[t["name"].split()[-1] for t in DEFS["awx_job_templates"]])
def test_each_template_carries_exactly_the_credentials_its_playbook_uses(template):
    assert set(template.get("credentials", [])) == needed_credentials(template["playbook"]), template["playbook"]


def test_the_github_token_is_on_delete_cluster_for_purge_deploy_key_and_not_on_stop_services():
    by_step = {t["playbook"].rsplit("/", 1)[-1][:-4]: set(t.get("credentials", [])) for t in DEFS["awx_job_templates"]}
    assert "tidepool.eks GitHub" in by_step["delete_cluster"] and "tidepool.eks GitHub" not in by_step["stop_services"]
    files = {str(f.relative_to(REPO)) for f in _reached(REPO / "playbooks" / "delete_cluster.yml")}
    assert "roles/teardown/tasks/purge_deploy_key.yml" in files
