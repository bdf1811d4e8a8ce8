"""benchmarks/cpu_by_process.py: what a process is, and that the CPU of a busy process is counted under it."""
from __future__ import annotations

import importlib.util
import subprocess
import sys
import time

import pytest

from tests.support.helpers import REPO

spec = importlib.util.spec_from_file_location("cpu_by_process", REPO / "benchmarks" / "cpu_by_process.py")
cpu = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cpu)

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

BUSY = "import time\nend = time.process_time() + 0.6\nwhile time.process_time() < end: pass\ntime.sleep(30)"


def test_an_ansible_module_is_named_after_its_ansiballz_file_and_its_cpu_is_counted():
    sampler = cpu.Sampler()
    sampler.sample()  # before: the child counts from zero
    child = subprocess.Popen([sys.executable, "-c", BUSY, "/tmp/ansible-tmp-1/AnsiballZ_apply_plan.py"])
    try:
        deadline = time.monotonic() + 20
        while sampler.cpu["module:apply_plan"] < 0.5 and time.monotonic() < deadline:
            time.sleep(0.1)
            sampler.sample()
        assert cpu.kind(child.pid) == "module:apply_plan"
        assert 0.5 <= sampler.cpu["module:apply_plan"] < 5, dict(sampler.cpu)
    finally:
        child.kill()
        child.wait()
    assert cpu.kind(child.pid) is None and cpu.ticks(child.pid) is None  # gone: nothing to read


def test_python_processes_are_named_by_their_command_line_others_by_their_name():
    sleeper = subprocess.Popen(["sleep", "30"])
    tool = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)", "/x/bin/ansible-playbook", "site.yml"])
    try:
        time.sleep(0.2)
        assert cpu.kind(sleeper.pid) == "sleep"
        assert cpu.kind(tool.pid) == "ansible-playbook"
    finally:
        for proc in (sleeper, tool):
            proc.kill()
            proc.wait()


def test_the_command_s_exit_status_is_returned_and_no_command_is_a_usage_error(capsys):
    assert cpu.main(["--interval", "0.05", "--", sys.executable, "-c", "raise SystemExit(3)"]) == 3
    assert "exit 3" in capsys.readouterr().out
    with pytest.raises(SystemExit) as err:
        cpu.main([])
    assert err.value.code == 2 and "no command" in capsys.readouterr().err
