"""scripts/run_tests.py (`make test`): how the suite is shared between the pytest processes."""
from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "scripts"))

import run_tests  # noqa: E402  (scripts/run_tests.py)


def weights():
    return json.loads((REPO / "tests" / "durations.json").read_text())["modules"]


def test_every_module_runs_once_and_the_gitops_modules_share_the_first_process_in_order():
    modules = run_tests.modules()
    gitops = [m for m in modules if run_tests.is_gitops(m)]
    assert "tests/integration/test_site_local_flux2.py" in gitops and "tests/integration/test_config_role.py" not in gitops
    shards = run_tests.plan(2, weights())
    assert len(shards) == 2
    flat = [m for shard in shards for m in shard]
    assert sorted(flat) == sorted(modules + ["tests/unit"]) and len(flat) == len(set(flat))
    assert [m for m in shards[0] if m in gitops] == gitops  # one stack, the single-process order
    for shard in shards:  # each keeps the order one process would run
        assert shard == sorted(shard, key=(modules + ["tests/unit"]).index)


def test_the_processes_get_about_the_same_recorded_time():
    w = weights()
    loads = [sum(w.get(m, run_tests.DEFAULT_SECONDS) for m in shard) for shard in run_tests.plan(2, w)]
    assert max(loads) - min(loads) <= max(w.values()), loads


def test_a_module_not_recorded_counts_the_default_and_one_worker_keeps_everything_together():
    one = run_tests.plan(1, {})
    assert len(one) == 1 and one[0][-1] == "tests/unit"
    three = run_tests.plan(3, {})
    assert len(three) == 3 and all(three)


def test_the_slowest_summary_keeps_the_first_lines_of_pytests_durations():
    text = "\n".join(["== slowest durations ==", *(f"{30 - i}.00s call     tests/integration/test_a.py::t{i}"
                                                        for i in range(30)), "== 1 passed in 3s =="])
    out = run_tests.slowest(text, 3).splitlines()
    assert out[0] == "== slowest durations (3 shown) ==" and len(out) == 5 and out[-1] == "== 1 passed in 3s =="
    assert out[1].startswith("30.00s call") and out[3].startswith("28.00s call")
