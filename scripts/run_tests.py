#!/usr/bin/env python3
"""`make test`: the test suite in TIDEPOOL_TEST_WORKERS pytest processes at once (default 2), each with its own local
stack on free ports (tests/conftest.py starts one per process), so the waits of one process (Flux, the External
Secrets Operator, helm-controller) overlap the other's work on a 2-core machine.

    scripts/run_tests.py [pytest arguments...]     # e.g. -x, -k name; they go to every process

* Shards are whole test modules, in the order a single process runs them (tests/conftest.py: the modules that use
  the GitOps controllers last). Shard 1 holds every GitOps module (they share one stack, in that order: a later one
  starts from what an earlier one left, as in a single process), then the other modules are spread by their
  recorded duration (``tests/durations.json``, refreshed with ``--record``; a module not recorded counts 60 s) to
  the shard that is lightest so far; ``tests/unit`` goes to the lightest shard.
* Each process draws its free ports from its own slice of a pool outside the kernel's ephemeral range
  (``TIDEPOOL_PORT_SLICE=n/k``, local_stack.free_port), so two stacks never race for one port.
* Each process writes ``<basetemp>/shard-<n>.log``; a line per process every 60 s says how far it is; at the end
  each log is printed whole, with pytest's 25 slowest tests, and the exit status is the worst of the processes.
* TIDEPOOL_TEST_WORKERS=1 (or 0) runs one plain ``pytest --durations=25``.
* ``--record``: after the run, write the modules' durations of this run to ``tests/durations.json``.

Exit status: 0 when every process passed, else the first non-zero pytest status (1 failed tests, 2 interrupted,
...). Errors in the shard plan (a test path that does not exist) exit 4, as pytest does for usage errors.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RECORD = REPO / "tests" / "durations.json"
DEFAULT_SECONDS = 60
#: a module is a GitOps module when it asks for one of these fixtures (tests/conftest.py)
GITOPS_FIXTURES = re.compile(r"\b(gitops_stack|platform_stack)\b")
DURATION = re.compile(r"^([\d.]+)s (?:setup|call|teardown)\s+(tests/\S+?\.py)::")


def modules() -> list[str]:
    """Integration modules, as pytest collects them (sorted paths)."""
    return sorted(str(p.relative_to(REPO)) for p in (REPO / "tests" / "integration").glob("test_*.py"))


def is_gitops(module: str) -> bool:
    return bool(GITOPS_FIXTURES.search((REPO / module).read_text()))


def plan(workers: int, weights: dict[str, float]) -> list[list[str]]:
    """``workers`` lists of test paths (shard 1 first); each list keeps the single-process order."""
    shards: list[list[str]] = [[] for _ in range(workers)]
    load = [0.0] * workers
    every = modules()
    gitops = [m for m in every if is_gitops(m)]
    shards[0] += gitops
    load[0] += sum(weights.get(m, DEFAULT_SECONDS) for m in gitops)
    rest = sorted((m for m in every if m not in gitops), key=lambda m: (-weights.get(m, DEFAULT_SECONDS), m))
    for module in rest + ["tests/unit"]:
        lightest = load.index(min(load))
        shards[lightest].append(module)
        load[lightest] += weights.get(module, DEFAULT_SECONDS)
    order = {m: i for i, m in enumerate(every + ["tests/unit"])}
    return [sorted(shard, key=order.__getitem__) for shard in shards if shard]


def durations(log: Path) -> dict[str, float]:
    out: dict[str, float] = {}
    for line in log.read_text(errors="replace").splitlines():
        match = DURATION.match(line)
        if match:
            out[match.group(2)] = out.get(match.group(2), 0.0) + float(match.group(1))
    return out


def last_line(log: Path) -> str:
    lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()] if log.exists() else []
    return lines[-1][-100:] if lines else "(starting)"


def main(argv: list[str]) -> int:
    record = "--record" in argv
    args = [a for a in argv if a != "--record"]
    workers = int(os.environ.get("TIDEPOOL_TEST_WORKERS", "2") or 2)
    pytest = [sys.executable, "-m", "pytest"]
    if workers <= 1:
        return subprocess.call(pytest + ["--durations=25", *args], cwd=REPO)
    weights = json.loads(RECORD.read_text())["modules"] if RECORD.exists() else {}
    shards = plan(workers, weights)
    base = Path(tempfile.mkdtemp(prefix="tidepool-tests."))
    start = time.monotonic()
    procs = []
    for n, shard in enumerate(shards, 1):
        missing = [p for p in shard if not (REPO / p).exists()]
        if missing:
            print(f"run-tests: shard {n}: no such test path: {', '.join(missing)}", file=sys.stderr)
            return 4
        expected = sum(weights.get(m, DEFAULT_SECONDS) for m in shard)
        print(f"run-tests: shard {n} ({len(shard)} paths, about {expected:.0f} s recorded): {' '.join(shard)}",
              flush=True)
        log = base / f"shard-{n}.log"
        # --durations=0 so --record can read every module; the summary printed below keeps the 25 slowest
        cmd = pytest + ["-p", "no:cacheprovider", f"--basetemp={base / f'shard-{n}'}", "--durations=0",
                        "--durations-min=1.0", *args, *shard]
        with log.open("w") as out:
            # each process draws its stack's and its tests' free ports from its own slice (local_stack.port_slice)
            env = dict(os.environ, TIDEPOOL_PORT_SLICE=f"{n}/{len(shards)}")
            procs.append((n, log, subprocess.Popen(cmd, cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
                                                   stdin=subprocess.DEVNULL, env=env)))
    try:
        beat = start
        while any(p.poll() is None for _, _, p in procs):
            time.sleep(5)
            if time.monotonic() - beat >= 60:
                beat, elapsed = time.monotonic(), time.monotonic() - start
                for n, log, p in procs:
                    state = "running" if p.poll() is None else f"done (exit {p.returncode})"
                    print(f"run-tests: {elapsed:5.0f} s, shard {n} {state}: {last_line(log)}", flush=True)
    except KeyboardInterrupt:
        for _, _, p in procs:
            p.terminate()
        raise
    status = 0
    measured: dict[str, float] = {}
    for n, log, p in procs:
        text = log.read_text(errors="replace")
        print(f"\n===== run-tests: shard {n} (exit {p.returncode}) =====")
        print(slowest(text, 25))
        measured.update(durations(log))
        status = status or p.returncode
    print(f"run-tests: {len(procs)} processes, {time.monotonic() - start:.0f} s wall; logs in {base}")
    if record and status == 0:
        modules_seen = {m: round(s) for m, s in sorted(measured.items()) if m.startswith("tests/integration/")}
        RECORD.write_text(json.dumps({"measured": time.strftime("%Y-%m-%d") + f", {len(procs)} processes on "
                                      f"{os.cpu_count()} cores (seconds per module, setup+call+teardown)",
                                      "modules": modules_seen}, indent=1) + "\n")
        print(f"run-tests: recorded {len(modules_seen)} modules in {RECORD.relative_to(REPO)}")
    return status


def slowest(text: str, keep: int) -> str:
    """pytest's output with its durations section cut to the ``keep`` slowest lines."""
    out, kept, in_durations = [], 0, False
    for line in text.splitlines():
        if "slowest durations" in line:
            in_durations, kept = True, 0
            out.append(line.replace("slowest durations", f"slowest durations ({keep} shown)"))
            continue
        if in_durations and DURATION.match(line):
            kept += 1
            if kept <= keep:
                out.append(line)
            continue
        if in_durations and line.startswith("("):  # "(N durations < 1s hidden ...)"
            continue
        in_durations = in_durations and not line.startswith("=")
        out.append(line)
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
