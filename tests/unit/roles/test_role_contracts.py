"""Roles talk through declared contracts only (docs/roles.md, "Contracts").

Every variable a role reads (in its tasks, defaults, vars, handlers and templates) must be one of:

* the role's own: its prefix (``<role>_``, ``_<role>_``), its defaults and vars, what its tasks register or set
  (``register``, ``set_fact``, ``vars``, ``loop_var``), its declared options (unless they carry another role's prefix);
* declared public by another role: a fact listed after ``Public facts:`` or an option listed after ``Shared
  options:`` in the description of one of that role's entry points (``meta/argument_specs.yml``);
* an inventory key: an option of the ``tidepool.eks.inventory`` role (the shared settings: ``cluster_provider``,
  ``kubeconfig``, ``aws_endpoint_url``...), a values.yaml key, or a variable the inventories define that carries no
  role's prefix (a role's setting in the inventory stays that role's);
* an Ansible magic variable.

A role's entry point other than ``main`` that another role includes (``tasks_from``) is declared in the owning role's
``meta/argument_specs.yml``. And the GitOps flavour number is read only where the inventory role hands it to the
flavour (``inventory_values.gitops``, filter ``gitops_flavour``): no other role reads ``flux_version`` or compares a
version with a number.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import jinja2.meta
import jinja2.nodes
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
COLLECTION = "tidepool.eks."

#: Names Ansible provides (magic variables, connection variables, Jinja globals Ansible adds).
MAGIC = {
    "omit", "item", "hostvars", "groups", "group_names", "inventory_hostname", "inventory_hostname_short",
    "inventory_dir", "inventory_file", "playbook_dir", "role_path", "role_name", "play_hosts", "ansible_play_hosts",
    "ansible_play_batch", "ansible_check_mode", "ansible_diff_mode", "ansible_failed_task", "ansible_failed_result",
    "ansible_facts", "ansible_playbook_python", "ansible_loop", "ansible_loop_var", "ansible_index_var",
    "ansible_parent_role_names", "ansible_role_names", "ansible_version", "ansible_env", "ansible_verbosity",
    "lookup", "query", "q", "now", "undef", "range", "dict", "lipsum", "cycler", "joiner", "namespace",
    "true", "false", "none", "True", "False", "None",
}
CONDITIONALS = ("when", "changed_when", "failed_when", "until")
TASK_LISTS = ("block", "rescue", "always")
SET_FACT = ("ansible.builtin.set_fact", "set_fact")
ASSERT = ("ansible.builtin.assert", "assert")
INCLUDE_ROLE = ("ansible.builtin.include_role", "include_role", "ansible.builtin.import_role", "import_role")


class _Loader(yaml.SafeLoader):
    """YAML as Ansible writes it: custom tags (!unsafe, !vault) read as plain values."""


_Loader.add_multi_constructor("!", lambda loader, suffix, node: loader.construct_scalar(node)
                              if isinstance(node, yaml.ScalarNode) else None)


def _load(path: Path):
    return yaml.load(path.read_text(), Loader=_Loader)  # noqa: S506 - a SafeLoader subclass


class _Any(dict):
    """Every filter and test name exists (the scan compiles templates without Ansible's plugins)."""

    def __contains__(self, name):
        return True

    def __getitem__(self, name):
        return lambda *args, **kwargs: None

    def get(self, name, default=None):
        return self[name]


_JINJA = jinja2.Environment()
_JINJA.filters, _JINJA.tests = _Any(), _Any()


def _template_ast(text: str, bare: bool):
    """The Jinja AST of a templated string, or of a bare expression (``when``, ``that``)."""
    if bare and "{{" not in text and "{%" not in text:
        text = "{{ " + text + " }}"
    try:
        return _JINJA.parse(text)
    except jinja2.TemplateSyntaxError as exc:
        raise AssertionError(f"cannot parse {text!r}: {exc}") from None


@dataclass
class Read:
    name: str
    file: str
    ast: object = None


def _names():
    return field(default_factory=set)


@dataclass
class Role:
    """What one role owns (``own``, ``options``, ``public`` facts, ``entry_points``) and what it reads."""
    name: str
    path: Path
    own: set = _names()
    options: set = _names()
    public: set = _names()
    entry_points: set = _names()
    reads: list = field(default_factory=list)      # Read(name, file, ast)
    includes: list = field(default_factory=list)   # (file, role, tasks_from)

    def prefixes(self):
        return (self.name + "_", "_" + self.name + "_")


def _listed(descriptions, label: str) -> set:
    """Names listed as ``C(name)`` in the description item starting with ``label``."""
    out = set()
    for item in descriptions if isinstance(descriptions, list) else [descriptions or ""]:
        item = " ".join(str(item).split())
        if item.startswith(label):
            out |= set(re.findall(r"C\(([A-Za-z_][A-Za-z0-9_]*)\)", item))
    return out


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(k)
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _read_value(role: Role, file: str, value, bare: bool = False):
    if isinstance(value, list) and bare:
        for v in value:
            _read_value(role, file, v, bare=True)
        return
    if bare and isinstance(value, str):
        ast = _template_ast(value, bare=True)
        role.reads += [Read(n, file, ast) for n in jinja2.meta.find_undeclared_variables(ast)]
        return
    for text in _strings(value):
        if "{{" in text or "{%" in text:
            ast = _template_ast(text, bare=False)
            role.reads += [Read(n, file, ast) for n in jinja2.meta.find_undeclared_variables(ast)]


def _walk_tasks(role: Role, file: str, tasks):
    for task in tasks or []:
        if not isinstance(task, dict):
            continue
        role.own |= set(task.get("vars") or {})
        if task.get("register"):
            role.own.add(task["register"])
        role.own.add((task.get("loop_control") or {}).get("loop_var", "item"))
        for key, value in task.items():
            if key in TASK_LISTS:
                _walk_tasks(role, file, value)
            elif key in CONDITIONALS:
                _read_value(role, file, value, bare=True)
            elif key in SET_FACT:
                role.own |= {k for k in value if k != "cacheable"}
                _read_value(role, file, value)
            elif key in ASSERT:
                _read_value(role, file, value.get("that"), bare=True)
                _read_value(role, file, {k: v for k, v in value.items() if k != "that"})
            elif key in INCLUDE_ROLE:
                name = str(value.get("name", ""))
                role.includes.append((file, name.removeprefix(COLLECTION), value.get("tasks_from", "main")))
                _read_value(role, file, value)
            else:
                _read_value(role, file, value)


def load_role(path: Path) -> Role:
    role = Role(path.name, path)
    for sub in ("defaults", "vars"):
        for file in sorted((path / sub).rglob("*.yml")):
            data = _load(file) or {}
            role.own |= set(data)
            _read_value(role, str(file.relative_to(path.parent.parent)), data)
    specs = path / "meta" / "argument_specs.yml"
    if specs.is_file():
        for entry, spec in ((_load(specs) or {}).get("argument_specs") or {}).items():
            role.entry_points.add(entry)
            role.options |= set(spec.get("options") or {})
            role.public |= _listed(spec.get("description"), "Public facts:")
            role.public |= _listed(spec.get("description"), "Shared options:")
    for sub in ("tasks", "handlers"):
        for file in sorted((path / sub).rglob("*.yml")):
            _walk_tasks(role, str(file.relative_to(path.parent.parent)), _load(file))
    for file in sorted((path / "templates").rglob("*")) if (path / "templates").is_dir() else []:
        if file.is_file():
            ast = _template_ast(file.read_text(), bare=False)
            role.reads += [Read(n, str(file.relative_to(path.parent.parent)), ast)
                           for n in jinja2.meta.find_undeclared_variables(ast)]
    return role


def load_roles(roles_dir: Path) -> dict:
    return {p.name: load_role(p) for p in sorted(roles_dir.iterdir()) if (p / "tasks").is_dir()}


def inventory_keys(inventories: Path, roles: dict) -> set:
    """Variables the inventories define that carry no role's prefix, plus the values.yaml keys."""
    from ansible_collections.tidepool.eks.plugins.module_utils.config.values_schema import TOP_LEVEL_KEYS

    keys = set(TOP_LEVEL_KEYS)
    for file in sorted(inventories.rglob("*.yml")):
        if file.name == "hosts.yml":
            continue
        keys |= set(_load(file) or {})
    return {k for k in keys if owner(k, roles) is None}


def owner(name: str, roles: dict):
    """The role whose prefix ``name`` carries (the longest: config_repo_url is config_repo's), or None."""
    best = None
    for role in roles.values():
        if name.startswith(role.prefixes()) and (best is None or len(role.name) > len(best.name)):
            best = role
    return best


def violations(roles: dict, inventory: set) -> list[str]:
    """``role: file reads variable (why)`` for every read that is not allowed, and every undeclared entry point."""
    shared = set(inventory)
    if "inventory" in roles:
        shared |= roles["inventory"].options | roles["inventory"].public
    out = []
    for role in roles.values():
        for read in role.reads:
            name = read.name
            if name in MAGIC or name.startswith("ansible_") or name in shared:
                continue
            prefixed = owner(name, roles)
            if prefixed is role:
                continue
            if prefixed is None and (name in role.own or name in role.options):
                continue
            if prefixed is not None and name in prefixed.public:
                continue
            if prefixed is None and any(name in other.public for other in roles.values() if other is not role):
                continue
            why = (f"a variable of role {prefixed.name} it does not declare public" if prefixed is not None
                   else "neither the role's own, declared public by another role, nor an inventory key")
            out.append(f"{role.name}: {read.file} reads {name} ({why})")
        for file, target, entry in role.includes:
            if target in roles and target != role.name and entry not in roles[target].entry_points:
                out.append(f"{role.name}: {file} includes {target} tasks_from {entry}, "
                           f"not an entry point declared in roles/{target}/meta/argument_specs.yml")
    return sorted(set(out))


def _number_reads(node) -> list[str]:
    """``flux_version`` reads and comparisons of a ``version`` with a number, in a Jinja AST."""
    found = []
    for n in node.find_all((jinja2.nodes.Name, jinja2.nodes.Getattr, jinja2.nodes.Compare)):
        if isinstance(n, jinja2.nodes.Name) and n.name == "flux_version":
            found.append("flux_version")
        elif isinstance(n, jinja2.nodes.Getattr) and n.attr == "flux_version":
            found.append(".flux_version")
        elif isinstance(n, jinja2.nodes.Compare):
            sides = [n.expr] + [op.expr for op in n.ops]
            numbers = [s for s in sides if isinstance(s, jinja2.nodes.Const) and isinstance(s.value, int)]
            versions = [s for s in sides if any(getattr(x, "attr", getattr(x, "name", "")).endswith("version")
                                                for x in s.find_all((jinja2.nodes.Getattr, jinja2.nodes.Name)))
                        or getattr(s, "attr", getattr(s, "name", "")).endswith("version")]
            if numbers and versions:
                found.append("a version compared with a number")
    return found


def flavour_number_reads(roles: dict) -> list[str]:
    out = set()
    for role in roles.values():
        if role.name == "inventory":
            continue
        for read in role.reads:
            for what in _number_reads(read.ast):
                out.add(f"{role.name}: {read.file} reads {what}")
    return sorted(out)


# ----------------------------------------------------------------------------------------------------- the repository

@pytest.fixture(scope="module")
def roles():
    return load_roles(ROOT / "roles")


def test_every_role_reads_only_declared_variables(roles):
    assert violations(roles, inventory_keys(ROOT / "inventories", roles)) == []


def test_the_flavour_number_is_read_only_by_the_inventory_role(roles):
    assert flavour_number_reads(roles) == []
    assert any("gitops_flavour" in open(f).read() for f in (ROOT / "roles" / "inventory" / "tasks").glob("*.yml"))


def test_public_facts_are_documented_in_docs_roles_md(roles):
    text = (ROOT / "docs" / "roles.md").read_text()
    missing = sorted(f"{r.name}: {name}" for r in roles.values() for name in r.public if f"`{name}`" not in text)
    assert missing == []


def test_public_names_are_set_or_declared_by_their_role(roles):
    """A name listed public is one the role sets (fact) or declares (option), with its prefix or the inventory's."""
    wrong = sorted(f"{r.name}: {name}" for r in roles.values() for name in r.public
                   if name not in r.own | r.options and name != "inventory_values")
    assert wrong == []


# ----------------------------------------------------------------------------------------------------- the scanner

def _role(tmp: Path, name: str, tasks: list, defaults: dict | None = None, specs: dict | None = None):
    base = tmp / "roles" / name
    (base / "tasks").mkdir(parents=True)
    (base / "tasks" / "main.yml").write_text(yaml.safe_dump(tasks))
    if defaults is not None:
        (base / "defaults").mkdir()
        (base / "defaults" / "main.yml").write_text(yaml.safe_dump(defaults))
    if specs is not None:
        (base / "meta").mkdir()
        (base / "meta" / "argument_specs.yml").write_text(yaml.safe_dump({"argument_specs": specs}))


def _fixture(tmp_path, *, declared: bool, entry_declared: bool = True):
    description = ["Makes things.", "Public facts: C(alpha_result)."] if declared else ["Makes things."]
    specs = {"main": {"short_description": "alpha", "description": description, "options": {}}}
    if entry_declared:
        specs["extra"] = {"short_description": "extra", "options": {}}
    _role(tmp_path, "alpha", [{"name": "make", "ansible.builtin.command": "true", "register": "alpha_result"}],
          defaults={"alpha_timeout": 3}, specs=specs)
    _role(tmp_path, "beta", [
        {"name": "use", "ansible.builtin.debug": {"msg": "{{ beta_greeting }} {{ cluster_provider }}"},
         "when": ["alpha_result.rc == 0", "_beta_seen | default(true)"]},
        {"name": "include", "ansible.builtin.include_role": {"name": "tidepool.eks.alpha", "tasks_from": "extra"}},
    ], defaults={"beta_greeting": "hi {{ inventory_values.cluster.metadata.name }}"})
    return load_roles(tmp_path / "roles")


def test_the_scanner_names_role_file_and_variable_of_a_private_read(tmp_path):
    found = violations(_fixture(tmp_path, declared=False), {"cluster_provider", "inventory_values"})
    assert found == ["beta: roles/beta/tasks/main.yml reads alpha_result "
                     "(a variable of role alpha it does not declare public)"]


def test_a_fact_declared_public_may_be_read(tmp_path):
    assert violations(_fixture(tmp_path, declared=True), {"cluster_provider", "inventory_values"}) == []


def test_an_unknown_variable_is_named(tmp_path):
    found = violations(_fixture(tmp_path, declared=True), {"inventory_values"})
    assert found == ["beta: roles/beta/tasks/main.yml reads cluster_provider (neither the role's own, declared "
                     "public by another role, nor an inventory key)"]


def test_an_undeclared_entry_point_is_named(tmp_path):
    found = violations(_fixture(tmp_path, declared=True, entry_declared=False), {"cluster_provider", "inventory_values"})
    assert found == ["beta: roles/beta/tasks/main.yml includes alpha tasks_from extra, not an entry point declared "
                     "in roles/alpha/meta/argument_specs.yml"]


def test_an_undeclared_default_of_another_role_is_named(tmp_path):
    roles = _fixture(tmp_path, declared=True)
    roles["beta"].reads.append(Read("alpha_timeout", "roles/beta/defaults/main.yml"))
    assert "beta: roles/beta/defaults/main.yml reads alpha_timeout (a variable of role alpha it does not declare " \
           "public)" in violations(roles, {"cluster_provider", "inventory_values"})


@pytest.mark.parametrize("expression,found", [
    ("inventory_values.flux_version | default(1) | int == 2", [".flux_version", "a version compared with a number"]),
    ("flux_version | int", ["flux_version"]),
    ("inventory_values.gitops.version == 1", ["a version compared with a number"]),
    ("inventory_values.gitops.installs_components", []),
    ("inventory_values.environments | length == 0", []),
])
def test_the_flavour_number_scan(expression, found):
    assert sorted(_number_reads(_template_ast(expression, bare=True))) == sorted(found)
