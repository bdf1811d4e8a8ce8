"""The values file is read as data: safe YAML (no aliases, no duplicate keys, bounded size, plain data), only the
values keys, a template expression kept as text; each refusal one message naming the file."""
from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from ansible_collections.tidepool.eks.plugins.module_utils.config import values_file, values_schema

REPO = Path(__file__).resolve().parents[5]

BILLION_LAUGHS = "\n".join(
    ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]" for i in range(8)]) + "\n"


def test_the_shipped_values_files_load_and_validate():
    for host in ("test1", "test2", "local"):
        path = REPO / "inventories" / "values" / f"{host}.yml"
        values = values_file.load(str(path))
        assert values == yaml.safe_load(path.read_text())
        assert values["cluster"]["metadata"]["name"] == host
        assert values_schema.errors(values) == []


def test_template_text_is_kept_as_text():
    text = "email: admin@example.com\nenvironments:\n  qa1:\n    values:\n      note: \"{{ lookup('pipe', 'id') }}\"\n"
    assert values_file.parse(text)["environments"]["qa1"]["values"]["note"] == "{{ lookup('pipe', 'id') }}"


@pytest.mark.parametrize("key", ["confirm_delete", "purge_buckets", "aws_endpoint_url", "secrets_backend",
                                 "ansible_connection", "config_repo_url"])
def test_a_role_variable_is_not_a_values_key(key):
    with pytest.raises(values_file.ValuesFileError) as err:
        values_file.parse(f"email: a@b.example\n{key}: x\n", "inv/values/c1.yml")
    message = str(err.value)
    assert message.startswith("inv/values/c1.yml: ")
    assert f"{key} is not a values.yml key" in message
    assert f"-e {key}=" in message


def test_a_misspelt_values_key_gets_a_suggestion():
    with pytest.raises(values_file.ValuesFileError, match="enviroments is not a values.yml key; did you mean environments"):
        values_file.parse("enviroments: {}\n")


def test_nested_aliases_are_refused_at_once():
    started = time.monotonic()
    with pytest.raises(values_file.ValuesFileError) as err:
        values_file.parse(BILLION_LAUGHS, "values/evil.yml")
    assert time.monotonic() - started < 5
    assert str(err.value).startswith("values/evil.yml: line 2: YAML alias *a refused")


def test_a_merge_key_alias_is_refused_too():
    with pytest.raises(values_file.ValuesFileError, match="alias"):
        values_file.parse("pkgs:\n  a: &x {enabled: true}\n  b:\n    <<: *x\n")


def test_an_anchor_alone_is_accepted():
    assert values_file.parse("pkgs:\n  gloo: &g {enabled: true}\n") == {"pkgs": {"gloo": {"enabled": True}}}


def test_a_key_written_twice_is_refused():
    with pytest.raises(values_file.ValuesFileError, match=r"f\.yml: line 4: key 'qa2' is written twice"):
        values_file.parse("environments:\n  qa2: {}\n  qa3: {}\n  qa2: {}\n", "f.yml")


def test_size_is_bounded(tmp_path):
    big = tmp_path / "big.yml"
    big.write_text("email: a@b.example\n# " + "x" * values_file.MAX_BYTES + "\n")
    with pytest.raises(values_file.ValuesFileError, match=f"{big}: larger than {values_file.MAX_BYTES} bytes"):
        values_file.load(str(big))
    with pytest.raises(values_file.ValuesFileError, match="larger than"):
        values_file.parse(big.read_text())


@pytest.mark.parametrize("text, message", [
    # plain data only
    ("cluster:\n  metadata:\n    created: 2020-01-01\n", "cluster.metadata.created: .* is not plain data"),
    ("pkgs:\n  x: !!binary aGVsbG8=\n", "pkgs.x: .* is not plain data"),
    ("environments:\n  qa1:\n    values: !!set {a, b}\n", "environments.qa1.values: .* is not plain data"),
    # bad YAML
    ("- a\n- b\n", "must be a mapping of the values keys"),
    ("email: [\n", "not valid YAML"),
    ("a: !!python/object:os.system {}\n", "not valid YAML"),
])
def test_each_refusal_is_one_message_naming_the_file(text, message):
    with pytest.raises(values_file.ValuesFileError, match=f"^v.yml: {message}"):
        values_file.parse(text, "v.yml")


def test_deep_nesting_is_one_message():
    with pytest.raises(values_file.ValuesFileError, match="nested too deeply|not valid YAML"):
        values_file.parse("pkgs: " + "[" * 100000 + "]" * 100000 + "\n", "v.yml")


def test_empty_file_is_no_values(tmp_path):
    empty = tmp_path / "e.yml"
    empty.write_text("---\n")
    assert values_file.load(str(empty)) == {}


def test_missing_file_names_where_it_belongs(tmp_path):
    with pytest.raises(values_file.ValuesFileError, match=f"{tmp_path}/nope.yml: the values file of this cluster does "
                                                          "not exist .*inventories/values/<host>.yml"):
        values_file.load(str(tmp_path / "nope.yml"))


def test_old_layout_found_and_named(tmp_path):
    old = tmp_path / "host_vars" / "c1"
    old.mkdir(parents=True)
    assert values_file.legacy_files([str(old), ""]) == []
    (old / "values.yml").write_text("email: a@b.example\n")
    assert values_file.legacy_files([str(old)]) == [str(old / "values.yml")]
    message = values_file.legacy_message("c1", [str(old / "values.yml")], ["email"], "inv/values/c1.yml")
    assert str(old / "values.yml") in message and "variable email" in message
    assert "move the values file to inv/values/c1.yml" in message


def test_the_inventory_role_knows_the_values_keys():
    role_vars = yaml.safe_load((REPO / "roles" / "inventory" / "vars" / "main.yml").read_text())
    assert tuple(role_vars["_inventory_values_keys"]) == values_schema.TOP_LEVEL_KEYS
