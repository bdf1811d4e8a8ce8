#!/usr/bin/env python3
"""Benchmark: how long a no-op `ansible-playbook site.yml -l local` takes with 1 and with N Tidepool
environments (default 20), against a local stack of its own (started in a temporary directory on free ports,
stopped at the end; a stack you run is not touched).

For each size the script converges once (not timed), then times `--runs` no-op reruns and checks that each
one reports changed=0. It prints the median no-op time of both sizes and their ratio (targets: ratio <= 1.5,
1-environment no-op <= 20 s on a 2-core machine).

    .venv/bin/python benchmarks/pipeline_noop.py              # 1 and 20 environments, 3 no-op runs each
    .venv/bin/python benchmarks/pipeline_noop.py -n 10 --runs 1 --profile

Not a test: nothing asserts on the timings. Figures: benchmarks/README.md.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(REPO))

from tests.support.helpers import recap, run_playbook  # noqa: E402
import local_stack  # noqa: E402


def environments(n: int) -> dict:
    """``n`` copies of the local inventory's qa1 environment: qa1, qa2, ..."""
    values = yaml.safe_load((REPO / "inventories" / "values" / "local.yml").read_text())
    qa1 = values["environments"]["qa1"]
    return {f"qa{i + 1}": copy.deepcopy(qa1) for i in range(n)}


def site(env: dict, extra_file: Path, profile: bool) -> tuple[float, dict, str]:
    more = {"ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.profile_tasks"} if profile else {}
    t0 = time.monotonic()
    res = run_playbook("site.yml", limit="local", env={**env, **more}, args=["-e", f"@{extra_file}"], timeout=3600)
    elapsed = time.monotonic() - t0
    if res.returncode:
        sys.exit(f"site.yml failed:\n{res.stdout[-5000:]}\n{res.stderr[-2000:]}")
    return elapsed, recap(res.stdout).get("local", {}), res.stdout


def measure(n: int, runs: int, env: dict, tmp: Path, profile: bool) -> list[float]:
    extra = tmp / f"envs-{n}.json"
    extra.write_text(json.dumps({"environments": environments(n)}))
    t, stats, _ = site(env, extra, False)
    print(f"  {n} environment(s): converge {t:.1f}s (changed={stats.get('changed')})", flush=True)
    times = []
    for i in range(runs):
        t, stats, out = site(env, extra, profile)
        if stats.get("changed"):
            sys.exit(f"no-op run {i + 1} with {n} environment(s) reported changed={stats['changed']}:\n{out[-5000:]}")
        times.append(t)
        print(f"  {n} environment(s): no-op run {i + 1}: {t:.1f}s", flush=True)
        if profile:
            print("\n".join(out.splitlines()[-26:]))  # profile_tasks' table of the slowest tasks
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=20, help="environments of the large run (default 20)")
    parser.add_argument("--runs", type=int, default=3, help="timed no-op runs per size (default 3)")
    parser.add_argument("--profile", action="store_true", help="print the slowest tasks (profile_tasks)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args()
    if local_stack.Stack.default().missing_binaries():
        sys.exit("control-plane binaries missing: run `scripts/local-stack build` first")
    with tempfile.TemporaryDirectory(prefix="pipeline-noop-") as tmp:
        stack = local_stack.Stack.ephemeral(Path(tmp) / "stack")
        print(f"starting a local stack of its own in {tmp}", flush=True)
        stack.up()
        try:
            env = dict(os.environ, **stack.env())
            small = statistics.median(measure(1, args.runs, env, Path(tmp), args.profile))
            large = statistics.median(measure(args.n, args.runs, env, Path(tmp), args.profile))
        finally:
            stack.down()
    ratio = large / small
    print(f"\nno-op site.yml -l local: 1 environment {small:.1f}s, {args.n} environments {large:.1f}s, "
          f"ratio {ratio:.2f} (targets: <= 20 s and <= 1.5; {os.cpu_count()} CPUs)")
    if args.json:
        print(json.dumps({"one": round(small, 2), "many": round(large, 2), "n": args.n, "ratio": round(ratio, 3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
