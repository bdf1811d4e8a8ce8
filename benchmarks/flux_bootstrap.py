"""flux_bootstrap against a real kube-apiserver: API requests and time of a first install and a no-op rerun.

    .venv/bin/python benchmarks/flux_bootstrap.py            # ephemeral local stack (kube group), then stopped
    .venv/bin/python benchmarks/flux_bootstrap.py --json

Runs the module's core in-process (no Ansible start-up) and counts every HTTP request the kubernetes client sends,
by method and by whether it is a dry run. Not a test: nothing asserts on the figures.
"""
from __future__ import annotations

import argparse
import collections
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(REPO / ".collections"))
sys.path.insert(0, str(REPO))

import local_stack  # noqa: E402
from ansible_collections.tidepool.eks.plugins.module_utils.gitops import bootstrap as flux_bootstrap  # noqa: E402
from ansible_collections.tidepool.eks.plugins.module_utils.k8s import apply as k8s_apply  # noqa: E402
from ansible_collections.tidepool.eks.plugins.module_utils.k8s import client as k8s_client  # noqa: E402
from tests.support.pki import write_tiller_tls  # noqa: E402


def counted_applier(kubeconfig: Path, counter: collections.Counter):
    client = k8s_client.connect(str(kubeconfig))
    api = client.client
    original = api.request

    def request(method, url, *args, **kwargs):
        dry = "dryRun=All" in url or any(k == "dryRun" for k, _ in (kwargs.get("query_params") or []))
        counter[f"{method}{' (dry run)' if dry else ''}"] += 1
        return original(method, url, *args, **kwargs)

    api.request = request
    return k8s_apply.Applier(client)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        stack = local_stack.Stack.ephemeral(Path(tmp) / "stack")
        stack.up("kube")
        try:
            spec = flux_bootstrap.normalize_params({
                "cluster": "bench", "git_url": "git@github.com:example/cluster-bench.git", "git_email": "a@example.com",
                "wait": False, **write_tiller_tls(Path(tmp), ca_name="bench", namespace="flux")})
            for label, check in (("check mode, blank cluster", True), ("first run", False), ("no-op rerun", False),
                                 ("check mode, installed", True)):
                counter = collections.Counter()
                applier = counted_applier(stack.kubeconfig, counter)
                start = time.monotonic()
                result = flux_bootstrap.run(spec, applier, check_mode=check)
                rows.append({"run": label, "seconds": round(time.monotonic() - start, 2), "changed": result["changed"],
                             "objects": len(result["objects"]), "requests": sum(counter.values()),
                             "by_method": dict(sorted(counter.items()))})
        finally:
            stack.down()
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print("| run | seconds | changed | objects | API requests | by method |")
    print("|---|---:|---|---:|---:|---|")
    for r in rows:
        print(f"| {r['run']} | {r['seconds']} | {r['changed']} | {r['objects']} | {r['requests']} | "
              + ", ".join(f"{k} {v}" for k, v in r["by_method"].items()) + " |")


if __name__ == "__main__":
    main()
