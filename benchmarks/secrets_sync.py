#!/usr/bin/env python3
"""Benchmark: sync N Kubernetes Secrets into Secrets Manager with tidepool.eks.external_secret (one task)
versus a loop of community.aws.secretsmanager_secret (one task per secret), against the same moto server.

Both approaches run through ansible-playbook, as a user would, twice: the first run creates N secrets,
the second is a no-op rerun. The script prints wall-clock times, the speed-up ratio and the number of
AWS API calls each run made (counted by a WSGI middleware in front of the moto server, so both
approaches are counted the same way, retries included).

    .venv/bin/python benchmarks/secrets_sync.py            # N=200
    .venv/bin/python benchmarks/secrets_sync.py -n 50 --json

Not a test: nothing asserts on the timings. See benchmarks/README.md for figures.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import secrets
import string
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
CLUSTER = "bench"
NAMESPACE = "bench"


def play(task_name: str, task: str) -> str:
    """A playbook on localhost with one task: ``- name: <task_name>`` followed by ``task`` (YAML lines indented
    by six spaces; a str.format template, filled in by main())."""
    return ("- hosts: localhost\n"
            "  gather_facts: false\n"
            "  tasks:\n"
            f"    - name: {task_name}\n") + task


OURS = play("Sync all secrets in one task", """\
      tidepool.eks.external_secret:
        cluster: {cluster}
        src: {src}
        encoding: plaintext
        region: us-east-1
        endpoint_url: {endpoint}
""")

THEIRS = play("Sync one secret per loop item", """\
      community.aws.secretsmanager_secret:
        name: "{cluster}/{{{{ item.metadata.namespace }}}}/{{{{ item.metadata.name }}}}"
        json_secret: "{{{{ item.stringData }}}}"
        region: us-east-1
        endpoint_url: {endpoint}
      loop: "{{{{ lookup('ansible.builtin.file', '{src}') | ansible.builtin.from_yaml_all | list }}}}"
      loop_control:
        label: "{{{{ item.metadata.name }}}}"
""")


class CountingMiddleware:
    """Counts API calls by operation (X-Amz-Target for JSON protocols, Action for query protocols)."""

    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()
        self.calls: collections.Counter = collections.Counter()

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if not path.startswith("/moto-api"):
            op = environ.get("HTTP_X_AMZ_TARGET") or environ.get("QUERY_STRING", "") or path
            with self.lock:
                self.calls[op.split(".")[-1]] += 1
        return self.app(environ, start_response)

    def reset(self) -> collections.Counter:
        with self.lock:
            out, self.calls = self.calls, collections.Counter()
        return out


def start_moto():
    from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    class QuietHandler(MotoRequestHandler):
        def log_request(self, *args, **kwargs):  # one line per request would drown the table
            pass

    counter = CountingMiddleware(DomainDispatcherApplication(create_backend_app))
    server = make_server("127.0.0.1", 0, counter, threaded=True, request_handler=QuietHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = server.server_address[:2]
    return server, counter, f"http://{host}:{port}"


def reset_moto(endpoint: str) -> None:
    import urllib.request
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=30).read()


def make_secrets(n: int) -> list:
    alphabet = string.ascii_letters + string.digits
    rnd = lambda: "".join(secrets.choice(alphabet) for _ in range(40))  # noqa: E731
    return [{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": f"s{i:04d}", "namespace": NAMESPACE},
             "stringData": {"ServiceAuth": rnd(), "UserIdSalt": rnd(), "Database": "admin"}} for i in range(n)]


def run(playbook: Path, endpoint: str) -> tuple[float, int, str]:
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), AWS_ACCESS_KEY_ID="testing",
               AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1", AWS_ENDPOINT_URL=endpoint,
               ANSIBLE_NOCOLOR="1", PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    env.pop("AWS_PROFILE", None)
    start = time.monotonic()
    proc = subprocess.run([str(VENV_BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local",
                           "-e", f"ansible_python_interpreter={sys.executable}", str(playbook)],
                          cwd=REPO, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    elapsed = time.monotonic() - start
    if proc.returncode != 0:
        sys.exit(f"{playbook.name} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-2000:]}")
    changed = 0
    for line in proc.stdout.splitlines():
        if line.startswith("localhost") and "changed=" in line:
            changed = int(line.split("changed=")[1].split()[0])
    items_changed = proc.stdout.count("changed: [localhost]")
    return elapsed, changed, f"{items_changed} result(s) reported changed"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=200, help="number of Secret manifests (default 200)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args()

    server, counter, endpoint = start_moto()
    rows = []
    with tempfile.TemporaryDirectory(prefix="secrets-bench-") as tmp:
        tmp = Path(tmp)
        src = tmp / "secrets.yaml"
        src.write_text(yaml.safe_dump_all(make_secrets(args.n)))
        books = {"external_secret (1 task)": OURS, "secretsmanager_secret (loop)": THEIRS}
        for label, text in books.items():
            book = tmp / (label.split()[0] + ".yml")
            book.write_text(text.format(cluster=CLUSTER, src=src, endpoint=endpoint))
            reset_moto(endpoint)
            counter.reset()
            for run_name in ("first run", "no-op rerun"):
                elapsed, changed, items = run(book, endpoint)
                calls = counter.reset()
                rows.append({"approach": label, "run": run_name, "seconds": round(elapsed, 2),
                             "aws_calls": sum(calls.values()), "calls_by_operation": dict(sorted(calls.items())),
                             "tasks_changed": changed, "detail": items})
    server.shutdown()

    print(f"\nSync of {args.n} Secret manifests into Secrets Manager (moto server {endpoint}), via ansible-playbook\n")
    print(f"{'approach':32} {'run':12} {'seconds':>8} {'AWS calls':>10}  calls by operation")
    for r in rows:
        ops = ", ".join(f"{k} {v}" for k, v in r["calls_by_operation"].items())
        print(f"{r['approach']:32} {r['run']:12} {r['seconds']:8.2f} {r['aws_calls']:10d}  {ops}")
    ratios = {}
    for run_name in ("first run", "no-op rerun"):
        ours = next(r for r in rows if r["run"] == run_name and r["approach"].startswith("external_secret"))
        theirs = next(r for r in rows if r["run"] == run_name and r["approach"].startswith("secretsmanager"))
        ratios[run_name] = {"speedup": round(theirs["seconds"] / ours["seconds"], 1),
                            "call_ratio": round(theirs["aws_calls"] / max(ours["aws_calls"], 1), 1)}
        print(f"\n{run_name}: external_secret is {ratios[run_name]['speedup']}x faster and makes "
              f"{ratios[run_name]['call_ratio']}x fewer AWS calls ({ours['aws_calls']} vs {theirs['aws_calls']}); "
              f"no-op detection: {ours['detail']} vs {theirs['detail']}")
    if args.json:
        print(json.dumps({"n": args.n, "rows": rows, "ratios": ratios}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
