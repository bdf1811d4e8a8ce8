"""The module runner: check mode applies nothing, warnings, diff only in diff mode, one clear failure."""
import json
import types

import pytest
from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.tidepool.eks.plugins.module_utils.common import plan as base
from ansible_collections.tidepool.eks.plugins.module_utils.common import runner
from ansible_collections.tidepool.eks.plugins.module_utils.common.errors import TidepoolError
from ansible_collections.tidepool.eks.plugins.module_utils.k8s.client import KubeError


class Exited(Exception):
    def __init__(self, kind, result):
        super().__init__(kind)
        self.kind, self.result = kind, result


class FakeModule:
    """The part of AnsibleModule the runner uses; exit/fail raise so that a test sees the end of the task."""

    def __init__(self, check_mode=False, diff=False):
        self.check_mode, self._diff, self.warnings = check_mode, diff, []

    def warn(self, text):
        self.warnings.append(text)

    def exit_json(self, **result):
        raise Exited("exit", result)

    def fail_json(self, **result):
        raise Exited("fail", result)


class CountingPlan(base.Plan):
    def __init__(self, changes):
        self.changes, self.applied = changes, 0

    @property
    def changed(self):
        return bool(self.changes)

    def diff(self):
        return {"before": "", "after": "\n".join(self.changes)}


def outcome(module, work, **kwargs):
    with pytest.raises(Exited) as info:
        runner.run(module, work, **kwargs)
    return info.value.kind, info.value.result


def plan_work(module, plan):
    def apply(p):
        p.applied += 1
        return {"changed": True, "done": list(p.changes)}

    def work():
        result = runner.apply(module, plan, apply, lambda: {"changed": plan.changed, "done": []})
        return dict(result, warnings=[f"{len(plan.changes)} change(s)"], diff=plan.diff)
    return work


def test_check_mode_applies_nothing_and_reports_the_change():
    plan = CountingPlan(["a", "b"])
    module = FakeModule(check_mode=True)
    kind, result = outcome(module, plan_work(module, plan))
    assert (kind, plan.applied) == ("exit", 0)
    assert result == {"changed": True, "done": []}
    module = FakeModule()
    kind, result = outcome(module, plan_work(module, plan))
    assert (kind, plan.applied, result["done"]) == ("exit", 1, ["a", "b"])


def test_an_unchanged_plan_is_not_applied():
    plan = CountingPlan([])
    module = FakeModule()
    assert outcome(module, plan_work(module, plan))[1]["changed"] is False
    assert plan.applied == 0


def test_warnings_go_to_module_warn_and_not_into_the_result():
    module = FakeModule()
    _kind, result = outcome(module, plan_work(module, CountingPlan(["a"])))
    assert module.warnings == ["1 change(s)"]
    assert "warnings" not in result


def test_diff_only_in_diff_mode_and_computed_only_then():
    calls = []

    def diff():
        calls.append(1)
        return {"before": "x", "after": "y"}

    _kind, result = outcome(FakeModule(), lambda: {"changed": True, "diff": diff})
    assert "diff" not in result and calls == []
    _kind, result = outcome(FakeModule(diff=True), lambda: {"changed": True, "diff": diff})
    assert result["diff"] == {"before": "x", "after": "y"} and calls == [1]
    # a plain value (a core's result dict) is passed through as it is, even when empty
    _kind, result = outcome(FakeModule(diff=True), lambda: {"changed": False, "diff": {}})
    assert result == {"changed": False, "diff": {}}


def test_a_tidepool_error_is_one_message_without_traceback():
    def work():
        raise KubeError("Kubernetes API server https://127.0.0.1:1 is unreachable.")

    kind, result = outcome(FakeModule(), work, unexpected="x")
    assert (kind, result) == ("fail", {"msg": "Kubernetes API server https://127.0.0.1:1 is unreachable."})


def test_failure_fields_and_listed_exception_types():
    class LegacyError(Exception):
        code = "Throttling"

    def legacy():
        raise LegacyError("slow down")

    kind, result = outcome(FakeModule(), legacy, errors=(LegacyError,), fields=lambda exc: {"error_code": exc.code})
    assert (kind, result) == ("fail", {"msg": "slow down", "error_code": "Throttling"})

    def failure():
        raise runner.Failure("2 refused", errors=["a", "b"])

    assert outcome(FakeModule(), failure, fields=lambda exc: {"ignored": 1}) == (
        "fail", {"msg": "2 refused", "errors": ["a", "b"]})


def test_unexpected_errors_name_the_module_or_propagate():
    def bug():
        raise KeyError("name")

    kind, result = outcome(FakeModule(), bug, unexpected="flux_bootstrap")
    assert kind == "fail" and result["msg"] == "flux_bootstrap failed unexpectedly: KeyError: 'name'"
    assert "Traceback" in result["exception"]
    with pytest.raises(KeyError):
        runner.run(FakeModule(), bug)


def test_missing_library_fails_before_the_work_runs():
    core = types.SimpleNamespace(HAS_KUBERNETES=False, KUBERNETES_IMPORT_ERROR=ImportError("No module named x"))
    ran = []
    kind, result = outcome(FakeModule(), lambda: ran.append(1), requires=(types.SimpleNamespace(HAS_BOTO3=True), core))
    assert kind == "fail" and ran == []
    assert "kubernetes" in result["msg"] and result["exception"] == "No module named x"


def test_with_a_real_ansible_module(monkeypatch, tmp_path, capsys):
    """manifest_tree's shell through AnsibleModule: check mode writes nothing, diff mode returns the entries."""
    from ansible_collections.tidepool.eks.plugins.modules import manifest_tree

    def call(check_mode, diff):
        args = {"ANSIBLE_MODULE_ARGS": {"root": str(tmp_path), "files": {"a/b.yaml": "x: 1\n"},
                                        "_ansible_check_mode": check_mode, "_ansible_diff": diff}}
        monkeypatch.setattr(basic, "_ANSIBLE_ARGS", to_bytes(json.dumps(args)))
        monkeypatch.setattr(basic, "_ANSIBLE_PROFILE", "legacy", raising=False)
        with pytest.raises(SystemExit):
            manifest_tree.main()
        return json.loads(capsys.readouterr().out)

    result = call(check_mode=True, diff=False)
    assert result["changed"] is True and result["created"] == ["a/b.yaml"] and "diff" not in result
    assert not (tmp_path / "a").exists()
    result = call(check_mode=False, diff=True)
    assert result["changed"] is True and result["diff"][0]["after"] == "x: 1\n"
    assert (tmp_path / "a" / "b.yaml").read_text() == "x: 1\n"
    assert call(check_mode=False, diff=False)["changed"] is False


def test_core_errors_derive_from_the_one_base():
    from ansible_collections.tidepool.eks.plugins.module_utils.preflight import checks as preflight
    from ansible_collections.tidepool.eks.plugins.module_utils.repository import file_tree
    for cls in (KubeError, preflight.PreflightError, file_tree.TreeError, runner.Failure):
        assert issubclass(cls, TidepoolError)


@pytest.mark.parametrize("name", ["apply_plan", "config_repo_git", "eks_access_entries", "eksctl_cluster", "external_secret",
                                  "flux_bootstrap", "flux_migrate", "flux_wait", "github_deploy_key", "helm_tls_cert",
                                  "irsa_roles", "manifest_tree",
                                  "manifest_validate", "preflight", "vpc_peering"])
def test_every_shell_builds_its_spec_and_ends_through_ansible(name, monkeypatch, capsys):
    """Without its required options each module ends with Ansible's own failure (its argument spec and main()
    are well-formed), not a Python error."""
    import importlib
    shell = importlib.import_module(f"ansible_collections.tidepool.eks.plugins.modules.{name}")
    monkeypatch.setattr(basic, "_ANSIBLE_ARGS", to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": {}})))
    monkeypatch.setattr(basic, "_ANSIBLE_PROFILE", "legacy", raising=False)
    with pytest.raises(SystemExit):
        shell.main()
    result = json.loads(capsys.readouterr().out)
    assert result.get("failed") is True or "changed" in result, result
