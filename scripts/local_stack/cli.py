"""scripts/local-stack: build | up | down [--purge | --wipe-etcd] | status | env | reset  (docs/local-stack.md)."""
from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import time
import urllib.request

from .common import COMPONENTS, GROUPS, HERE, StackError, expand_components
from .stack import Stack, reset_moto


def _log(msg: str) -> None:
    print(f"local-stack: {msg}", file=sys.stderr, flush=True)


def build(targets: list[str]) -> int:
    rc = 0
    for target in targets or ["all"]:
        rc = subprocess.call([str(HERE / "build.sh"), target])
        if rc:
            return rc
    return rc


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/local-stack", description=(
        "The local stack on 127.0.0.1: moto (AWS), etcd + kube-apiserver + kube-controller-manager, "
        "kube-scheduler + kwok (simulated nodes), git daemon + smart-HTTP git + fake GitHub deploy-key API, a chart "
        "repository, Flux source-, kustomize- and helm-controller + External Secrets Operator."))
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("build", help="build the stack's binaries from the Go module proxy (cached)")
    targets = ["all", "local", "etcd", "kubernetes", "kube-scheduler", "kwok", "helm", "eksctl", "gitops",
               *GROUPS["gitops"], "notification-controller", "flux-mirror", "flux-cli"]
    p.add_argument("targets", nargs="*", choices=targets, metavar="|".join(targets))
    groups = list(GROUPS) + list(COMPONENTS)
    p = sub.add_parser("up", help="start the stack (builds missing binaries first); idempotent")
    p.add_argument("components", nargs="*", metavar="|".join(GROUPS), help="default: everything")
    p.add_argument("--no-build", action="store_true", help="fail instead of building missing binaries")
    p.add_argument("--timeout", type=float, default=120.0)
    p = sub.add_parser("down", help="stop the stack (process groups); no orphans")
    p.add_argument("components", nargs="*", metavar="|".join(GROUPS))
    p.add_argument("--purge", action="store_true", help="also delete its state (etcd data, certs, git repos)")
    p.add_argument("--wipe-etcd", action="store_true",
                   help="then delete etcd's data only (every cluster object; certs, git repos, AWS state kept): "
                        "`down kube nodes gitops --wipe-etcd`, then `up` (docs/howto/disaster-recovery.md)")
    p = sub.add_parser("status", help="what runs, health, pid, port, RSS; exit 1 if anything is down")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("env", help="print `export` lines for the stack (eval \"$(scripts/local-stack env)\")")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("reset", help="reset moto state (POST /moto-api/reset)")
    p.add_argument("--github", action="store_true", help="also forget the fake GitHub's deploy keys")
    args = parser.parse_args(argv)

    stack = Stack.default()
    try:
        if args.cmd == "build":
            return build(args.targets)
        if args.cmd == "up":
            for c in args.components:
                if c not in groups:
                    parser.error(f"unknown component {c}; choose from {', '.join(groups)}")
            comps = expand_components(args.components or None)
            if stack.missing_binaries(comps):
                if args.no_build:
                    raise StackError("binaries missing: " + ", ".join(stack.missing_binaries(comps)))
                _log("binaries missing; building them once (about 20 min cold on 2 cores: etcd, Kubernetes, "
                     "kube-scheduler, kwok, the Flux controllers, ESO, helm; progress every minute)")
                if build(["local"]):
                    return 1
            t0 = time.monotonic()
            stack.up(comps, timeout=args.timeout, log=_log)
            _log(f"up in {time.monotonic() - t0:.1f}s; state in {stack.state}")
            _log(f"use it: eval \"$(scripts/local-stack env)\"")
            return 0
        if args.cmd == "down":
            stack.down(args.components or None, log=_log)
            if args.wipe_etcd:
                wiped = stack.wipe_etcd()
                _log(f"etcd's data {'deleted' if wiped else 'was already absent'}: {stack.etcd_data}")
            if args.purge:
                stack.purge()
                _log(f"purged {stack.state}")
            return 0
        if args.cmd == "status":
            st = stack.status()
            if args.json:
                print(json.dumps(st, indent=2))
            else:
                print(f"{'component':<25} {'state':<9} {'pid':>7} {'port':>6} {'RSS MiB':>8}")
                for name, s in st.items():
                    state = "healthy" if s["healthy"] else ("starting" if s["running"] else "down")
                    print(f"{name:<25} {state:<9} {s['pid'] or '-':>7} {s['port'] or '-':>6} {s['rss_mib']:>8}")
                print(f"total RSS: {sum(s['rss_mib'] for s in st.values()):.0f} MiB")
            return 0 if all(s["healthy"] for s in st.values()) else 1
        if args.cmd == "env":
            env = stack.env()
            if args.json:
                print(json.dumps(env, indent=2))
            else:
                for key, value in env.items():
                    print(f"export {key}={shlex.quote(value)}")
                if (stack.bin_dir / "kubectl").exists():
                    # The stack's kubectl first: a system kubectl may be outside the API server's version skew.
                    print(f"export PATH={shlex.quote(str(stack.bin_dir))}${{PATH:+:$PATH}}")
            return 0
        if args.cmd == "reset":
            reset_moto(stack.aws_endpoint)
            _log("moto state reset")
            if args.github:
                req = urllib.request.Request(stack.github_api_url + "/_fake/reset", method="POST", data=b"")
                urllib.request.urlopen(req, timeout=10).close()
                _log("fake GitHub deploy keys reset")
            return 0
    except StackError as exc:
        _log(f"error: {exc}")
        return 1
    except OSError as exc:
        _log(f"error: {exc}")
        return 1
    return 2


if __name__ == "__main__":
    sys.exit(main())
