"""Execution environment of tidepool.eks: generate ``meta/execution-environment.yml`` and its inputs.

One source for each thing the image holds, so the image never drifts from the repository:

* Python: the runtime packages of the lock. The roots (RUNTIME_ROOTS) and everything they require, walked
  through the installed distributions' metadata of the project venv, each pinned to its version in
  ``constraints.txt`` -> ``meta/ee-requirements.txt``.
* ansible-core and ansible-runner: their ``constraints.txt`` pins.
* System packages: ``bindep.txt`` (git, openssh, tar, gzip), read by ansible-builder.
* CLI binaries (eksctl, kubectl, helm, flux): the ``tools`` role's ``tools_pins`` (version, and per platform
  url, sha256, archive member), downloaded in the image build and checked against the sha256 before anything
  is installed; a pin without a sha256 makes the image build fail with a message naming it.

Usage (scripts/ee wraps these)::

    python scripts/lib/ee.py generate [--pins PATH]   # write meta/execution-environment.yml + ee-requirements.txt
    python scripts/lib/ee.py check [--pins PATH]      # exit 1 when the committed files differ from a fresh generate

Errors: ``SystemExit`` with one message naming the file or pin that is wrong.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from importlib import metadata

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EE_FILE = os.path.join(ROOT, "meta", "execution-environment.yml")
EE_REQUIREMENTS = os.path.join(ROOT, "meta", "ee-requirements.txt")
CONSTRAINTS = os.path.join(ROOT, "constraints.txt")
# What the playbooks import at run time (modules, module_utils, filters, the bundled collections).
RUNTIME_ROOTS = ("ansible", "boto3", "botocore", "kubernetes", "openshift", "PyYAML", "jmespath",
                 "cryptography", "jsonschema", "kubernetes-validate")
# Installed by ansible-builder itself (ansible_core / ansible_runner keys), not through ee-requirements.txt.
BUILDER_OWNED = ("ansible-core", "ansible-runner")
# Where the tools role keeps its pins; the first that exists wins (TIDEPOOL_TOOLS_PINS overrides).
PINS_CANDIDATES = ("roles/tools/defaults/main.yml", "roles/tools/vars/main.yml")
REQUIRED_TOOLS = ("eksctl", "kubectl", "helm", "flux")
BASE_IMAGE = "quay.io/centos/centos:stream9"
PYTHON = "python3.11"
SHA256 = re.compile(r"^[0-9a-f]{64}$")


def canon(name: str) -> str:
    """PEP 503 normalised distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_lock(path: str = CONSTRAINTS) -> dict[str, tuple[str, str]]:
    """``{canonical name: (name as written, version)}`` of constraints.txt."""
    lock = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            line = line.split("#", 1)[0].strip()
            if line:
                name, _sep, version = line.partition("==")
                lock[canon(name)] = (name, version)
    return lock


def runtime_closure(lock: dict[str, tuple[str, str]]) -> list[str]:
    """``name==version`` lines for RUNTIME_ROOTS and their requirements (markers evaluated here, extras not)."""
    from packaging.requirements import Requirement

    seen: set[str] = set()
    todo = [canon(r) for r in RUNTIME_ROOTS]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        if name not in lock:
            raise SystemExit(f"ee: {name} is required at run time but not pinned in constraints.txt")
        seen.add(name)
        for spec in metadata.requires(lock[name][0]) or []:
            req = Requirement(spec)
            if req.marker and not req.marker.evaluate({"extra": ""}):
                continue
            todo.append(canon(req.name))
    return [f"{lock[n][0]}=={lock[n][1]}" for n in sorted(seen) if n not in BUILDER_OWNED]


def find_pins(explicit: str | None = None) -> str | None:
    """Path of the tools role's pins file, or None when the tools role is not there (yet)."""
    if explicit or os.environ.get("TIDEPOOL_TOOLS_PINS"):
        path = explicit or os.environ["TIDEPOOL_TOOLS_PINS"]
        if not os.path.exists(path):
            raise SystemExit(f"ee: pins file {path} does not exist")
        return path
    for rel in PINS_CANDIDATES:
        if os.path.exists(os.path.join(ROOT, rel)):
            return os.path.join(ROOT, rel)
    return None


PLATFORM = "linux-amd64"


def _pin_list(data):
    """The tools role's ``tools_pins`` list (or a ``{tool: pin}`` mapping) found in the pins file."""
    if isinstance(data, dict):
        if isinstance(data.get("tools_pins"), (list, dict)):
            return data["tools_pins"]
        for value in data.values():
            found = _pin_list(value)
            if found:
                return found
    return None


def load_pins(path: str) -> dict[str, dict]:
    """``{tool: {version, url, sha256, member}}`` for REQUIRED_TOOLS, linux-amd64, from the tools role's pins.

    Format (roles/tools/defaults/main.yml ``tools_pins``): a list of ``{name, version, platforms: {<os>-<arch>:
    {url, sha256, member}}}``; ``member`` names the binary inside a ``.tar.gz``. An empty ``sha256`` means the
    pin is not verified yet: the image build refuses that tool (as the tools role refuses to install it).
    """
    with open(path, encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    pins = _pin_list(data)
    if isinstance(pins, dict):
        pins = [dict(pin, name=name) for name, pin in pins.items()]
    by_name = {pin.get("name"): pin for pin in pins or [] if isinstance(pin, dict)}
    out = {}
    for tool in REQUIRED_TOOLS:
        if tool not in by_name:
            raise SystemExit(f"ee: {path} has no pin for {tool} (tools_pins: name, version, platforms)")
        pin = by_name[tool]
        artifact = (pin.get("platforms") or {}).get(PLATFORM) or {}
        url = artifact.get("url") or pin.get("url")
        if not url:
            raise SystemExit(f"ee: pin {tool} in {path} has no {PLATFORM} url")
        sha = artifact.get("sha256", pin.get("sha256")) or ""
        if sha and not SHA256.match(str(sha)):
            raise SystemExit(f"ee: pin {tool} in {path} has an invalid sha256 (64 hex digits): {sha}")
        out[tool] = {"version": str(pin["version"]), "url": url, "sha256": str(sha),
                     "member": artifact.get("member") or pin.get("member")}
    return out


def install_step(tool: str, pin: dict) -> str:
    """One Containerfile RUN line: download, verify the sha256, install into /usr/local/bin.

    Without a sha256 the line fails the image build with a message naming the pin (never an unverified binary).
    """
    url, sha = pin["url"], pin["sha256"]
    if not sha:
        return (f"RUN echo 'ee: {tool} {pin['version']} has no sha256 in the tools role pins (tools_pins, {PLATFORM}); "
                f"fill it in from the published checksums, then scripts/ee generate' >&2 && false  # {tool} {pin['version']}")
    tmp = f"/tmp/{tool}.download"
    fetch = f"curl -fsSL -o {tmp} '{url}' && echo '{sha}  {tmp}' | sha256sum -c -"
    if url.endswith((".tar.gz", ".tgz")):
        member = pin.get("member") or tool
        place = (f"mkdir -p /tmp/{tool}.d && tar -xzf {tmp} -C /tmp/{tool}.d {member} && "
                 f"install -m 0755 /tmp/{tool}.d/{member} /usr/local/bin/{tool} && rm -rf /tmp/{tool}.d")
    else:
        place = f"install -m 0755 {tmp} /usr/local/bin/{tool}"
    return f"RUN {fetch} && {place} && rm -f {tmp}  # {tool} {pin['version']}"


class _IndentedDumper(yaml.SafeDumper):
    """Indents block sequences under their key (yamllint's and ansible-lint's default style)."""

    def increase_indent(self, flow=False, indentless=False):
        return super().increase_indent(flow, False)


def render(pins_path: str | None) -> tuple[str, str]:
    """(execution-environment.yml text, ee-requirements.txt text)."""
    lock = read_lock()
    requirements = runtime_closure(lock)
    steps = []
    header = ["# Generated by `scripts/ee generate` (scripts/lib/ee.py); edit that, not this file.",
              "# ansible-builder v3. Python packages: ee-requirements.txt (the lock's runtime closure);",
              "# system packages: ../bindep.txt; CLI binaries: the tools role's pins."]
    if pins_path:
        pins = load_pins(pins_path)
        header.append(f"# Pins: {os.path.relpath(pins_path, ROOT)}")
        steps = [install_step(tool, pins[tool]) for tool in REQUIRED_TOOLS]
        checked = [f"{tool} {pins[tool]['version']}" for tool in REQUIRED_TOOLS if pins[tool]["sha256"]]
        unchecked = [f"{tool} {pins[tool]['version']}" for tool in REQUIRED_TOOLS if not pins[tool]["sha256"]]
        if checked:
            header += ["# Downloaded and checked with sha256sum -c against their pinned sha256 before install:",
                       "#   " + ", ".join(checked) + "."]
        if unchecked:
            header += ["# No sha256 in the pins, so their step fails the image build on purpose (no image is built",
                       "# until it is filled in from the release's published checksums): " + ", ".join(unchecked) + "."]
    else:
        header.append("# Pins: none yet (the tools role is not in this tree): no CLI binaries are added.")
    ee = {
        "version": 3,
        "images": {"base_image": {"name": BASE_IMAGE}},
        "dependencies": {
            "python_interpreter": {"package_system": PYTHON, "python_path": f"/usr/bin/{PYTHON}"},
            "ansible_core": {"package_pip": f"ansible-core=={lock['ansible-core'][1]}"},
            "ansible_runner": {"package_pip": f"ansible-runner=={lock['ansible-runner'][1]}"},
            "python": "ee-requirements.txt",
            "system": "../bindep.txt",
        },
        "options": {"package_manager_path": "/usr/bin/dnf", "tags": ["tidepool-eks-ee:latest"]},
        "additional_build_steps": {
            "prepend_base": ["RUN dnf install -y --setopt=install_weak_deps=False curl-minimal tar gzip findutils"],
            "append_final": steps or ["RUN true  # no CLI pins yet"],
        },
    }
    text = "\n".join(header) + "\n---\n" + yaml.dump(ee, Dumper=_IndentedDumper, sort_keys=False, width=1000)
    reqs = ("# Generated by `scripts/ee generate`: the runtime Python packages of the lock (constraints.txt).\n"
            + "\n".join(requirements) + "\n")
    return text, reqs


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("action", choices=["generate", "check", "pins"])
    parser.add_argument("--pins", help="pins file of the tools role (default: found under roles/tools)")
    args = parser.parse_args(argv)
    pins_path = find_pins(args.pins)
    if args.action == "pins":
        print(pins_path or "")
        return 0
    text, reqs = render(pins_path)
    if args.action == "generate":
        for path, content in ((EE_FILE, text), (EE_REQUIREMENTS, reqs)):
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(content)
        print(f"ee: wrote {os.path.relpath(EE_FILE, ROOT)} and {os.path.relpath(EE_REQUIREMENTS, ROOT)}")
        return 0
    stale = []
    for path, content in ((EE_FILE, text), (EE_REQUIREMENTS, reqs)):
        try:
            with open(path, encoding="utf-8") as handle:
                current = handle.read()
        except FileNotFoundError:
            current = None
        if current != content:
            stale.append(os.path.relpath(path, ROOT))
    if stale:
        print(f"ee: {', '.join(stale)} out of date: run scripts/ee generate", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
