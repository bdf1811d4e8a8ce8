"""The facts the docs name, checked against the code (issue 28, tests/unit/docs/test_docs_facts.py).

:func:`load_code` reads what the repository defines: playbooks, tags, inventory hosts, Makefile targets, the names of
variables, options, facts and plugins, the ``TIDEPOOL_*`` environment variables the code reads, and the pinned
version of each tool, controller and chart, each from its one source (:func:`pins`). :func:`check` reads Markdown
(README.md, docs/**/*.md, roles/*/README.md: :func:`doc_paths`) and returns one ``file:line: what is wrong`` per
wrong fact: a link or a backticked path to nothing, a pointer outside the collection, an ``ansible-playbook``
command naming no playbook, a tag, host or ``make`` target that does not exist, a variable no code defines, a
version that is not the pin. Nothing here runs a command or reaches the network.
"""
from __future__ import annotations

import ast
import functools
import importlib
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]

#: Text that points outside the collection: the shared directory beside the checkout, the research notes, this
#: machine's absolute paths.
OUTSIDE = re.compile(r"\.\./shared\b|\.\./\.library|\.library/|(?<![\w.])/work/|/tmp/bash_jobs|(?<![\w.])/root/"
                     r"|\bresearch\b\s*(?:§|sections?\b|notes?\b|/|\.md\b|tidepool-tools)|§\s*\d")
#: Top-level directories and files of the repository a backticked path may start with.
PATH_START = re.compile(r"^(?:\./)?(?:(?:docs|roles|plugins|inventories|playbooks|tests|meta|scripts|molecule|"
                        r"changelogs|benchmarks|awx|\.ci)/\S*|(?:site\.yml|galaxy\.yml|Makefile|ansible\.cfg|"
                        r"requirements\.txt|constraints\.txt|bindep\.txt|\.ansible-lint)$)")
SNAKE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)+")
#: Backticked snake_case names starting with one of these (then ``_``) are taken for collection variables.
VARIABLE_PREFIXES = ("tools", "inventory", "config", "config_repo", "assets", "cluster", "secrets", "flux",
                     "helm_client", "helm", "apply", "shared_services", "environments", "peering", "teardown",
                     "migrate_flux_v2", "migrate", "aws", "preflight", "confirm", "purge", "tiller", "github")
#: Names the docs may name in backticks that the collection does not define, with why.
ALLOWED_NAMES = {
    "aws_access_key_id": "AWS's own credential file key",
    "aws_secret_access_key": "AWS's own credential file key",
    "aws_session_token": "AWS's own credential file key",
}
#: Backticked paths that name no file of the repository on purpose, with why.
ALLOWED_PATHS = {
    "inventories/host_vars/<cluster>/values.yml": "the old layout the doc's `git mv` moves from",
    "inventories/host_vars/test1/vault.yml": "the vault file the doc tells the operator to create",
    "inventories/host_vars/<cluster>/vault.yml": "the vault file the doc tells the operator to create",
}
#: ``(doc, text)`` of versions next to a component name that are not the pin, with why.
ALLOWED_VERSIONS = {
    ("docs/flavours.md", "Kubernetes 1.22"): "the first Kubernetes release without apiextensions.k8s.io/v1beta1",
    ("docs/flavours.md", "image-reflector-controller v1.2.0"): "the release of its CRD files; the line names the pin "
                                                               "v1.2.4 too",
}
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
LINK = re.compile(r"\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
SPAN = re.compile(r"(`+)(.+?)\1")
FENCE = re.compile(r"^\s*(```+|~~~+)\s*([\w+-]*)")
INDENTED_COMMAND = re.compile(r"^ {4,}(?:ansible-playbook|make|scripts/|eval|molecule|pytest)\b")
SHELL_LANGS = {"", "bash", "sh", "shell", "console", "text"}
VERSION = r"v?(?P<version>\d+\.\d+(?:\.\d+)*)(?![\w.]*\d)"


@dataclass
class Code:
    """What the repository defines (:func:`load_code`)."""
    playbooks: set = field(default_factory=set)     # repo-relative playbook paths
    tags: set = field(default_factory=set)
    hosts: set = field(default_factory=set)         # hosts and groups of inventories/
    make_targets: set = field(default_factory=set)
    names: set = field(default_factory=set)         # variables, options, facts, plugins, roles, tags
    env: set = field(default_factory=set)           # TIDEPOOL_* variables the code reads
    stack: dict = field(default_factory=dict)       # scripts/local-stack subcommand -> the words it takes
    pins: dict = field(default_factory=dict)        # component label -> (name regex, {version: source})


# ----------------------------------------------------------------------------------------------------- the code --
def _yaml_files(*roots: Path):
    for root in roots:
        if root.is_file():
            yield root
        elif root.is_dir():
            yield from sorted(p for p in root.rglob("*") if p.suffix in (".yml", ".yaml") and p.is_file())


def _load_all(path: Path) -> list:
    try:
        return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]
    except yaml.YAMLError:
        return []


def _walk(node, visit):
    visit(node)
    if isinstance(node, dict):
        for value in node.values():
            _walk(value, visit)
    elif isinstance(node, list):
        for value in node:
            _walk(value, visit)


def _keys(node, out: set):
    def visit(n):
        if isinstance(n, dict):
            out.update(k for k in n if isinstance(k, str))
    _walk(node, visit)


def _tags(node, out: set):
    def visit(n):
        if isinstance(n, dict) and ("name" in n or "hosts" in n or "import_playbook" in n
                                    or "ansible.builtin.import_playbook" in n or "block" in n):
            tags = n.get("tags")
            for tag in ([tags] if isinstance(tags, str) else tags if isinstance(tags, list) else []):
                if isinstance(tag, str) and "{{" not in tag:
                    out.update(t.strip() for t in tag.split(","))
    _walk(node, visit)


def _registered(node, out: set):
    def visit(n):
        if isinstance(n, dict):
            if isinstance(n.get("register"), str):
                out.add(n["register"])
            for key in ("set_fact", "ansible.builtin.set_fact", "set_stats", "ansible.builtin.set_stats"):
                if isinstance(n.get(key), dict):
                    out.update(n[key])
    _walk(node, visit)


def _hosts(node, out: set):
    if not isinstance(node, dict):
        return
    for group, body in node.items():
        out.add(group)
        if isinstance(body, dict):
            out.update((body.get("hosts") or {}).keys())
            _hosts(body.get("children") or {}, out)


def _python_names(path: Path, out: set):
    """The functions, classes and top-level constants of a Python file, its DOCUMENTATION / RETURN options."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out.add(path.stem)
    for node in tree.body:
        for target in node.targets if isinstance(node, ast.Assign) else ():
            if isinstance(target, ast.Name):
                out.add(target.id)
                if target.id in ("DOCUMENTATION", "RETURN") and isinstance(node.value, ast.Constant):
                    _keys(yaml.safe_load(node.value.value), out)
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            out.add(node.name)


def _env_file(path: Path) -> dict:
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if re.match(r"[A-Z0-9_]+=", line):
            key, value = line.split("=", 1)
            out[key] = value.strip()
    return out


def pins(repo: Path = REPO) -> dict:
    """``{label: (name regex, {version: source})}``: every pinned version, read from the file that pins it."""
    mod = importlib.import_module
    base = "ansible_collections.tidepool.eks.plugins.module_utils."
    stack = _env_file(repo / "scripts/local_stack/versions.env")
    env_src = "scripts/local_stack/versions.env"
    tools = {t["name"]: t["version"] for t in
             yaml.safe_load((repo / "roles/tools/defaults/main.yml").read_text())["tools_pins"]}
    tools_src = "roles/tools/defaults/main.yml tools_pins"
    components = mod(base + "gitops.flux_v2.components")
    flux_v1 = mod(base + "gitops.flux_v1.bootstrap")
    catalogue = mod(base + "config.catalogue")
    tidepool_chart = mod(base + "config.tidepool_chart")
    v1_charts, v2_charts = mod(base + "gitops.flux_v1.charts"), mod(base + "gitops.flux_v2.charts")
    constraints = dict(re.findall(r"^([\w.-]+)==(\S+)", (repo / "constraints.txt").read_text(), re.M))
    requires = yaml.safe_load((repo / "meta/runtime.yml").read_text())["requires_ansible"].lstrip(">=")

    out: dict = {}

    def add(label, names, version, source):
        regex, versions = out.setdefault(label, (names, {}))
        versions[str(version).lstrip("v")] = source

    add("etcd", r"etcd", stack["ETCD_VERSION"], env_src)
    for name in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "Kubernetes"):
        add(name, re.escape(name), stack["KUBERNETES_VERSION"], env_src)
    for version in catalogue.SUPPORTED_KUBERNETES_VERSIONS:
        add("Kubernetes", "Kubernetes", version, "config/catalogue.py SUPPORTED_KUBERNETES_VERSIONS")
    add("kubectl", r"kubectl", stack["KUBERNETES_VERSION"], env_src)
    add("eksctl", r"eksctl", stack["EKSCTL_VERSION"], env_src)
    add("helm", r"helm(?: CLI)?", stack["HELM_VERSION"], env_src)
    add("helm", r"helm(?: CLI)?", stack["HELM_CONTROLLER_HELM_SDK"], env_src + " HELM_CONTROLLER_HELM_SDK")
    add("kwok", r"kwok", stack["KWOK_VERSION"], env_src)
    add("External Secrets Operator", r"External Secrets Operator|ESO", stack["EXTERNAL_SECRETS_VERSION"], env_src)
    for key, name in (("SOURCE_CONTROLLER_VERSION", "source-controller"),
                      ("KUSTOMIZE_CONTROLLER_VERSION", "kustomize-controller"),
                      ("HELM_CONTROLLER_VERSION", "helm-controller"),
                      ("NOTIFICATION_CONTROLLER_VERSION", "notification-controller")):
        add(name, re.escape(name), stack[key], env_src)
    for name, (version, *_) in components.CONTROLLERS.items():
        add(name, re.escape(name), version, "gitops/flux_v2/components.py CONTROLLERS")
    add("Flux", r"Flux(?: release)?", components.FLUX_VERSION, "gitops/flux_v2/components.py FLUX_VERSION")
    add("Flux", r"Flux(?: release)?", flux_v1.DEFAULT_IMAGES["flux"].rsplit(":", 1)[1],
        "gitops/flux_v1/bootstrap.py DEFAULT_IMAGES")
    for image, name in (("helm_operator", "helm-operator"), ("tiller", "Tiller"), ("memcached", "memcached")):
        add(name, name, flux_v1.DEFAULT_IMAGES[image].rsplit(":", 1)[1].split("-")[0],
            "gitops/flux_v1/bootstrap.py DEFAULT_IMAGES")
    for tool, version in tools.items():
        add(tool, r"flux(?: CLI)?" if tool == "flux" else re.escape(tool), version, tools_src)
    for label, charts, source in (("flavour 1", v1_charts.CHARTS, "gitops/flux_v1/charts.py CHARTS"),
                                  ("flavour 2", v2_charts.CHARTS, "gitops/flux_v2/charts.py CHARTS")):
        for package, chart in charts.items():
            if "version" in chart:
                for name in {package, chart["name"]}:
                    add(f"chart {name}", re.escape(name) + r"(?: chart)?", chart["version"], source)
    tidepool = {tidepool_chart.CHART_0_1["path"].rsplit("/", 1)[1]: "config/tidepool_chart.py CHART_0_1",
                tidepool_chart.CHART_0_26["version"]: "config/tidepool_chart.py CHART_0_26"}
    for version, source in tidepool.items():
        add("Tidepool chart", r"(?:Tidepool )?[Cc]hart", version, source)
    for name, (regex, versions) in list(out.items()):   # "chart 2.9.0" names a chart of a catalogue too
        if name.startswith("chart "):
            for version, source in versions.items():
                add("Tidepool chart", r"(?:Tidepool )?[Cc]hart", version, source)
    add("ansible-core", r"ansible-core(?:\s*>=)?", constraints["ansible-core"], "constraints.txt")
    add("ansible-core", r"ansible-core(?:\s*>=)?", requires, "meta/runtime.yml requires_ansible")
    add("ansible package", r"`ansible`(?: package)?", constraints["ansible"], "constraints.txt")
    return out


@functools.lru_cache(maxsize=None)
def load_code(repo: Path = REPO) -> Code:
    code = Code()
    code.playbooks = {"site.yml"} | {p.relative_to(repo).as_posix() for p in (repo / "playbooks").glob("*.yml")}
    code.playbooks |= {p.relative_to(repo).as_posix() for p in (repo / "awx").glob("*.yml")
                       if any(isinstance(d, list) and d and "hosts" in d[0] for d in _load_all(p))}
    plays = [repo / "site.yml", repo / "playbooks", repo / "roles", repo / "molecule"]
    for path in _yaml_files(*plays, repo / "inventories", repo / "awx", repo / "meta"):
        for doc in _load_all(path):
            _keys(doc, code.names)
            _tags(doc, code.tags)
            _registered(doc, code.names)
        text = path.read_text(encoding="utf-8")
        code.names |= set(re.findall(r"\b([a-z_][a-z0-9_]*)\s*\|\s*default\(", text))   # optional inputs
        if path.parent.name == "vars":   # lists of accepted names (roles/inventory/vars/main.yml)
            code.names |= set(re.findall(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b", text))
    code.names |= code.tags
    code.names |= {p.name for p in (repo / "plugins/module_utils").rglob("*") if (p / "__init__.py").is_file()}
    for doc in _load_all(repo / "inventories/hosts.yml"):
        _hosts(doc, code.hosts)
    code.make_targets = set(re.findall(r"^([A-Za-z0-9][\w.-]*)\s*:(?!=)", (repo / "Makefile").read_text(), re.M))
    for path in sorted((repo / "plugins").rglob("*.py")):
        _python_names(path, code.names)
    code.names |= {p.name for p in (repo / "roles").iterdir() if p.is_dir()}
    code.names |= {p.stem for p in (repo / "playbooks").glob("*.yml")}
    for path in [*(repo / "scripts").rglob("*"), *(repo / "tests").rglob("*.py"), *(repo / "plugins").rglob("*.py"),
                 *(repo / "roles").rglob("*.yml"), *(repo / "molecule").rglob("*.yml"), repo / "Makefile",
                 *(repo / ".ci").glob("*"), *(repo / "awx").rglob("*"), *(repo / "playbooks").rglob("*.yml")]:
        if path.is_file() and path.suffix != ".pyc" and path.name != Path(__file__).name \
                and "tests/unit/docs" not in path.as_posix():
            try:
                code.env |= set(re.findall(r"TIDEPOOL_[A-Z0-9_]+", path.read_text(encoding="utf-8")))
            except UnicodeDecodeError:
                continue
    code.pins = pins(repo)
    code.stack = stack_commands(repo)
    return code


def stack_commands(repo: Path = REPO) -> dict:
    """``{subcommand: words it takes}`` of ``scripts/local-stack`` (scripts/local_stack/cli.py, common.py)."""
    consts = {}
    for node in ast.parse((repo / "scripts/local_stack/common.py").read_text()).body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) \
                and node.targets[0].id in ("COMPONENTS", "GROUPS"):
            consts[node.targets[0].id] = ast.literal_eval(node.value)
    cli = (repo / "scripts/local_stack/cli.py").read_text()
    build = set(re.findall(r'"([\w-]+)"', re.search(r"targets = \[(.*?)\]\s*\n", cli, re.S).group(1)))
    components = set(consts["GROUPS"]) | set(consts["COMPONENTS"])
    out = {name: set() for name in re.findall(r'add_parser\("([\w-]+)"', cli)}
    out["build"] = build | set(consts["GROUPS"]["gitops"])
    out["up"] = out["down"] = components
    return out


# ----------------------------------------------------------------------------------------------------- the docs --
def doc_paths(repo: Path = REPO) -> list[Path]:
    return [repo / "README.md", *sorted((repo / "docs").rglob("*.md")), *sorted((repo / "roles").glob("*/README.md"))]


def slug(heading: str) -> str:
    """GitHub's anchor of a heading."""
    text = re.sub(r"`|\*\*|(?<!\w)_|_(?!\w)", "", heading).strip().lower()
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(text: str) -> set:
    out, seen = set(), {}
    fenced = False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced and (m := HEADING.match(line)):
            base = slug(m.group(2))
            n = seen.get(base, 0)
            seen[base] = n + 1
            out.add(base if n == 0 else f"{base}-{n}")
    return out


def _lines(text: str):
    """``(line number, line, in a shell code block, the code spans of the line)``."""
    fenced, lang = None, ""
    for number, line in enumerate(text.splitlines(), 1):
        fence = FENCE.match(line)
        if fence and (fenced is None or fence.group(1)[0] == fenced[0]):
            fenced, lang = (fence.group(1), fence.group(2).lower()) if fenced is None else (None, "")
            continue
        if fenced is not None:
            yield number, line, lang in SHELL_LANGS, [line.split(" #", 1)[0]] if lang in SHELL_LANGS else []
        elif INDENTED_COMMAND.match(line):   # an indented code block
            yield number, line, True, [line.split(" #", 1)[0]]
        else:
            yield number, line, False, [m.group(2).strip() for m in SPAN.finditer(line)]


def _commands(snippet: str):
    """The arguments after each ``ansible-playbook`` of a snippet, up to the end of its command."""
    for m in re.finditer(r"(?:^|[\s;&|(])ansible-playbook\s+([^;&|#]*)", snippet):
        try:
            yield shlex.split(m.group(1))
        except ValueError:
            yield m.group(1).split()


def _exists(repo: Path, rel: str) -> bool:
    rel = rel.rstrip("/") or "."
    if "<" in rel or "*" in rel:
        pattern = re.sub(r"<[^>]*>", "*", rel)
        return any(repo.glob(pattern))
    return (repo / rel).exists()


class _Checker:
    def __init__(self, repo: Path, code: Code):
        self.repo, self.code, self.found = repo, code, []
        self.anchor_cache: dict = {}

    def report(self, doc: str, line: int, message: str):
        entry = f"{doc}:{line}: {message}"
        if entry not in self.found:
            self.found.append(entry)

    def doc_anchors(self, path: Path, text: str | None = None) -> set:
        if path not in self.anchor_cache:
            self.anchor_cache[path] = anchors(text if text is not None else path.read_text(encoding="utf-8"))
        return self.anchor_cache[path]

    # -- one doc --
    def check(self, doc: str, text: str):
        here = (self.repo / doc).parent
        for number, line, shell, spans in _lines(text):
            for m in OUTSIDE.finditer(line):
                self.report(doc, number, f"points outside the collection: {m.group(0)!r}")
            if not shell:
                for m in LINK.finditer(line):
                    self.link(doc, number, here, m.group(1), text)
            for snippet in spans:
                self.snippet(doc, number, snippet)
        self.versions(doc, text)

    def link(self, doc, number, here, target, text):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):
            return
        path_part, _, anchor = target.partition("#")
        if not path_part:
            if anchor and anchor not in self.doc_anchors(self.repo / doc, text):
                self.report(doc, number, f"link to #{anchor}: no such heading in {doc}")
            return
        resolved = (here / path_part).resolve()
        if self.repo.resolve() not in (resolved, *resolved.parents):
            self.report(doc, number, f"link {target}: outside the collection")
        elif not resolved.exists():
            self.report(doc, number, f"link {target}: no such file")
        elif anchor and resolved.suffix == ".md" and anchor not in self.doc_anchors(resolved):
            self.report(doc, number, f"link {target}: no heading #{anchor} in {resolved.relative_to(self.repo)}")

    def snippet(self, doc, number, snippet):
        code = self.code
        for args in _commands(snippet):
            self.playbook(doc, number, args)
        for m in re.finditer(r"--(skip-)?tags[= ]+['\"]?([\w,-]+)", snippet):
            for tag in filter(None, m.group(2).split(",")):
                if tag not in code.tags | {"all", "always", "never", "tagged", "untagged"}:
                    self.report(doc, number, f"--{m.group(1) or ''}tags {tag}: no such tag in site.yml, playbooks/ "
                                             "or roles/")
        own_inventory = re.search(r"(?:^|\s)(?:-i|--inventory)[= ]+(?!inventories/)\S", snippet)
        for m in re.finditer(r"(?:^|\s)(?:-l|--limit)[= ]+['\"]?([^\s'\"]+)", "" if own_inventory else snippet):
            for host in filter(None, re.split(r"[,:]", m.group(1))):
                host = host.lstrip("!&")
                if not re.search(r"[<>$*{]", host) and host not in code.hosts:
                    self.report(doc, number, f"-l {host}: no such host or group in inventories/hosts.yml")
        for m in re.finditer(r"scripts/local-stack(?:\s+([a-z][\w-]*))?((?:\s+[a-z][\w-]*)*)", snippet):
            sub, words = m.group(1), m.group(2).split()
            if sub is None:
                continue
            if sub not in code.stack:
                self.report(doc, number, f"scripts/local-stack {sub}: no such subcommand (scripts/local_stack/cli.py)")
            else:
                for word in words if code.stack[sub] else ():
                    if word not in code.stack[sub]:
                        self.report(doc, number, f"scripts/local-stack {sub} {word}: {sub} takes no {word!r}")
        for m in re.finditer(r"(?:^|[\s;&|(])make\s+([a-z][\w-]*)", snippet):
            if m.group(1) not in code.make_targets:
                self.report(doc, number, f"make {m.group(1)}: no such Makefile target")
        for token in snippet.split():
            token = re.sub(r"(::\S*|#\S*|:\d+(?:-\d+)?)$", "", token.strip("'\"(),;.")).rstrip(":,;.)")
            if PATH_START.match(token) and "{" not in token and "..." not in token and "$" not in token \
                    and token not in ALLOWED_PATHS and not self.path_exists(token.removeprefix("./")):
                self.report(doc, number, f"{token}: no such file or directory in the repository")
        for m in re.finditer(r"(?:^|\s)-e\s+['\"]?([a-z_][\w]*)=", snippet):
            self.variable(doc, number, m.group(1), explicit=True)
        if (m := re.fullmatch(r"(" + SNAKE.pattern + r")(?:\s*[:=]\s*\S.*)?", snippet)):
            self.variable(doc, number, m.group(1), explicit=False)
        for m in re.finditer(r"\$\{?(TIDEPOOL_[A-Z0-9_*]+(?:\{[A-Z0-9_,]+\}[A-Z0-9_]*)?)|\b(TIDEPOOL_[A-Z0-9_*]+(?:\{[A-Z0-9_,]+\}[A-Z0-9_]*)?)", snippet):
            name = m.group(1) or m.group(2)
            pattern = re.compile(re.sub(r"\\\{([^}]*)\\\}", lambda b: "(?:" + b.group(1).replace(",", "|") + ")",
                                        re.escape(name)).replace(r"\*", "[A-Z0-9_]+") + r"\Z")
            if not any(pattern.match(env) for env in code.env):
                self.report(doc, number, f"{name}: no code reads this environment variable")

    def path_exists(self, rel: str) -> bool:
        """A repository path; ``meta/...`` may be a role's; ``x/y.NAME`` a name defined in ``x/y.py``."""
        if _exists(self.repo, rel) or rel.startswith("meta/") and _exists(self.repo, "roles/*/" + rel):
            return True
        module, _, attr = rel.rpartition(".")
        source = self.repo / (module + ".py")
        return bool(module) and source.is_file() and re.search(rf"^{attr}\b", source.read_text(), re.M) is not None

    def playbook(self, doc, number, args):
        prev = {args[i + 1] for i, a in enumerate(args[:-1]) if a in ("-i", "-l", "-e", "--limit", "--tags", "-t",
                                                                       "--skip-tags", "--extra-vars", "-u")}
        target = next((a for a in args if not a.startswith("-") and a not in prev), None)
        for i, arg in enumerate(args[:-1]):
            if arg == "-t":   # --tags is checked with the other snippets
                for tag in filter(None, args[i + 1].split(",")):
                    if tag not in self.code.tags | {"all", "always", "never", "tagged", "untagged"}:
                        self.report(doc, number, f"-t {tag}: no such tag in site.yml, playbooks/ or roles/")
        if target is None or not re.search(r"\.ya?ml$|^tidepool\.eks\.", target) \
                or re.search(r"[<$]", target) and not target.startswith("tidepool.eks."):
            return
        if target.startswith("tidepool.eks."):
            name = target.removeprefix("tidepool.eks.")
            ok = "<" in name or f"playbooks/{name}.yml" in self.code.playbooks
        else:
            rel = target.split("ansible_collections/tidepool/eks/", 1)[-1].removeprefix("./")
            ok = rel in self.code.playbooks or rel.startswith("molecule/") and _exists(self.repo, rel)
        if not ok:
            self.report(doc, number, f"ansible-playbook {target}: no such playbook")

    def variable(self, doc, number, name, explicit):
        if not explicit and not any(name.startswith(p + "_") for p in VARIABLE_PREFIXES):
            return
        if name not in self.code.names and name not in ALLOWED_NAMES:
            self.report(doc, number, f"`{name}`: no role default, argument spec, inventory key, module option, "
                                     "fact or plugin of that name")

    def versions(self, doc, text):
        """A version right after a component's name (or its image, ``<name>:<version>``) is one of its pins."""
        if not hasattr(self, "_versions"):
            labels = list(self.code.pins)
            names = "|".join(f"(?P<c{i}>{self.code.pins[label][0]})" for i, label in enumerate(labels))
            self._labels = labels
            self._versions = re.compile(r"(?<![\w-])(?:" + names + r")[`*]*(?::|\s{1,8}\(?)[`*]*"
                                        r"(?:version\s+|release\s+|at\s+)?" + VERSION)
        for m in self._versions.finditer(text):
            label = next(self._labels[int(k[1:])] for k, v in m.groupdict().items() if k[0] == "c" and v is not None)
            versions = self.code.pins[label][1]
            written, phrase = m.group("version"), re.sub(r"\s+", " ", m.group(0))
            if (doc, re.sub(r"[`*(]", "", phrase)) in ALLOWED_VERSIONS:
                continue
            if not any(pin == written or pin.startswith(written + ".") for pin in versions):
                pinned = ", ".join(f"{v} ({s})" for v, s in sorted(versions.items()))
                self.report(doc, text.count("\n", 0, m.start()) + 1, f"{phrase!r}: {label} is pinned at {pinned}")


def check(docs: dict | None = None, repo: Path = REPO, code: Code | None = None) -> list[str]:
    """Every wrong fact of ``docs`` (``{repo-relative path: text}``; default: every doc of :func:`doc_paths`)."""
    if docs is None:
        docs = {p.relative_to(repo).as_posix(): p.read_text(encoding="utf-8") for p in doc_paths(repo) if p.is_file()}
    checker = _Checker(repo, code or load_code(repo))
    for doc, text in docs.items():
        checker.check(doc, text)
    return checker.found
