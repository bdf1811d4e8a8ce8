#!/usr/bin/env python3
"""Where a command's CPU time goes, by kind of process: run a command (``make test``, ``ansible-playbook site.yml -l
local``...) and print the CPU seconds (user + system) of every process of the machine while it runs, grouped by
what the process is: the stack's servers by name (kube-apiserver, etcd, helm-controller, moto...), Ansible's by role
(the ``ansible-playbook`` process and its forked workers, each module by its name: ``module:apply_plan``...),
pytest, kubectl, git, helm...

    .venv/bin/python benchmarks/cpu_by_process.py -- make test
    .venv/bin/python benchmarks/cpu_by_process.py --interval 0.2 --top 30 -- .venv/bin/ansible-playbook site.yml -l local
    .venv/bin/python benchmarks/cpu_by_process.py --json -- ...

How it counts: every ``--interval`` seconds (default 0.25) it reads ``/proc/<pid>/stat`` of every process; a process
seen for the first time after the start counts from zero, one that ran before counts from its first reading. A
process that starts and ends between two readings is not seen: the figure "sampled" is compared with the exact CPU
time of the command's reaped descendants (``RUSAGE_CHILDREN``) so that the share it missed is printed, not hidden.
The whole machine is counted (the stack's servers are not the command's children once detached): run it on a quiet
machine. Linux only. Exit status: the command's.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import time
from collections import Counter

HZ = os.sysconf("SC_CLK_TCK")
MODULE = re.compile(r"AnsiballZ_(\w+)\.py")
#: the first match in a Python process's command line names its kind
PYTHON_KINDS = (("ansible-playbook", "ansible-playbook"), ("ansible-runner", "ansible-runner"),
                ("ansible-galaxy", "ansible-galaxy"), ("ansible-lint", "ansible-lint"), ("molecule", "molecule"),
                ("pytest", "pytest"), ("run_tests.py", "run_tests"), ("moto", "moto"), ("fake_github", "fake-github"),
                ("git_http", "git-http"), ("charts", "chart-repo"), ("local-stack", "local-stack"),
                ("local_stack", "local-stack"), ("bin/ansible", "ansible"))


def kind(pid: int) -> str | None:
    """What process ``pid`` is (see the module's docstring), or None when it is gone."""
    try:
        with open(f"/proc/{pid}/comm", encoding="utf-8") as handle:
            comm = handle.read().strip()
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            argv = handle.read().decode(errors="replace").split("\0")
    except OSError:
        return None
    line = " ".join(argv)
    module = MODULE.search(line)
    if module:
        return f"module:{module.group(1)}"
    if comm.startswith(("python", "ansible")) or os.path.basename(argv[0]).startswith("python"):
        return next((name for needle, name in PYTHON_KINDS if needle in line), "python:other")
    return comm


def ticks(pid: int) -> int | None:
    """utime + stime of ``pid`` in clock ticks (fields 14 and 15 of /proc/<pid>/stat), None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[11]) + int(fields[12])


class Sampler:
    def __init__(self):
        self.seen: dict[int, list] = {}  # pid -> [kind, ticks counted so far]
        self.cpu: Counter = Counter()
        self.first = True

    def sample(self) -> None:
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            pid = int(entry)
            now = ticks(pid)
            if now is None:
                continue
            if pid not in self.seen:
                name = kind(pid)
                if name is None:
                    continue
                self.seen[pid] = [name, now if self.first else 0]
            name, counted = self.seen[pid]
            if now > counted:
                self.cpu[name] += (now - counted) / HZ
                self.seen[pid][1] = now
        self.first = False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--interval", type=float, default=0.25, help="seconds between readings (default 0.25)")
    parser.add_argument("--top", type=int, default=25, help="kinds printed (default 25)")
    parser.add_argument("--json", action="store_true", help="one JSON object instead of the table")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- the command to run")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command: benchmarks/cpu_by_process.py [options] -- <command> [args...]")
    sampler = Sampler()
    sampler.sample()
    start = time.monotonic()
    proc = subprocess.Popen(command)  # pylint: disable=consider-using-with
    while proc.poll() is None:
        time.sleep(args.interval)
        sampler.sample()
    sampler.sample()
    wall = time.monotonic() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    exact = usage.ru_utime + usage.ru_stime
    sampled = sum(sampler.cpu.values())
    rows = sampler.cpu.most_common()
    if args.json:
        print(json.dumps({"command": command, "exit": proc.returncode, "wall_s": round(wall, 1),
                          "cpu_s_sampled": round(sampled, 1), "cpu_s_reaped_children": round(exact, 1),
                          "cores": os.cpu_count(), "by_kind": {k: round(v, 2) for k, v in rows}}, indent=1))
        return proc.returncode
    print(f"\n{' '.join(command)}: exit {proc.returncode}, {wall:.1f} s wall on {os.cpu_count()} cores; "
          f"{sampled:.1f} CPU-s sampled (machine-wide), {exact:.1f} CPU-s by the command's reaped descendants")
    print(f"{'CPU-s':>9} {'share':>6}  kind")
    for name, seconds in rows[:args.top]:
        print(f"{seconds:9.1f} {100 * seconds / max(sampled, 1e-9):5.1f}%  {name}")
    rest = sum(seconds for _, seconds in rows[args.top:])
    if rest:
        print(f"{rest:9.1f} {100 * rest / max(sampled, 1e-9):5.1f}%  ({len(rows) - args.top} other kinds)")
    groups = Counter()
    for name, seconds in rows:
        groups["Ansible (playbook, workers, modules, runner)" if name.startswith(("module:", "ansible"))
               else "other"] += seconds
    print("; ".join(f"{name}: {seconds:.1f} CPU-s ({100 * seconds / max(sampled, 1e-9):.0f}%)"
                    for name, seconds in groups.most_common()))
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
