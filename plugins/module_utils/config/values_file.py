# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Reading a cluster's values file (``inventories/values/<host>.yml``, the keys of the install guide's
``values.yaml``) as data.

The file is an input anyone may propose a change to (a pull request to the inventory), so it is read here, never
by Ansible's variable loader: nothing in it is ever templated (a ``{{ ... }}`` stays the text it is, and the roles
receive it as untrusted data), and it cannot set a role variable (only the schema's top-level keys,
:data:`values_schema.TOP_LEVEL_KEYS`, are accepted; ``confirm_delete`` and every other setting of a run belong to
``host_vars/<host>/main.yml`` or the command line).

The YAML is read with PyYAML's safe loader, plus:

* a size bound (:data:`MAX_BYTES`): a larger file is refused before it is parsed;
* no aliases (``*name``): the one YAML feature that makes a small file expand exponentially (the "billion laughs"
  file of nested aliases); an anchor alone (``&name``) expands nothing and is accepted;
* no key written twice in one mapping (an environment listed twice would otherwise keep the last one);
* plain data only: strings, numbers, booleans, null, lists and mappings (an unquoted date or a ``!!binary`` /
  ``!!set`` value is refused, naming its key path).

Every refusal is a :class:`ValuesFileError` whose message names the file (and the line, or the key path).
"""
from __future__ import annotations

import os

from ansible_collections.tidepool.eks.plugins.module_utils.common.errors import TidepoolError
from ansible_collections.tidepool.eks.plugins.module_utils.common.optional_import import optional_import
from ansible_collections.tidepool.eks.plugins.module_utils.config import values_schema

(yaml,), YAML_IMPORT_ERROR = optional_import("yaml")
HAS_YAML = yaml is not None

#: Largest values file read, in bytes (test1's is about 2 KiB; an inventory of a hundred environments ~100 KiB).
MAX_BYTES = 1024 * 1024

#: File names the values used to have under ``host_vars/<host>/`` (where Ansible loads and templates them).
LEGACY_NAMES = ("values.yml", "values.yaml")

_PLAIN = (str, int, float, bool, type(None))


class ValuesFileError(TidepoolError):
    """The values file cannot be read as the inventory's data; the message names the file and what is wrong."""


def _loader_class(path: str):
    """A SafeLoader refusing aliases and duplicate keys, naming ``path`` in its errors."""

    class _Loader(yaml.SafeLoader):  # pylint: disable=too-many-ancestors
        def compose_node(self, parent, index):
            if self.check_event(yaml.AliasEvent):
                event = self.peek_event()
                raise ValuesFileError(
                    f"{path}: line {event.start_mark.line + 1}: YAML alias *{event.anchor} refused: the values file "
                    "is plain data, aliases are not read (they can make a small file expand without bound); write "
                    "the value out")
            return super().compose_node(parent, index)

        def construct_mapping(self, node, deep=False):
            seen = set()
            for key_node, _value_node in node.value:
                key = self.construct_object(key_node, deep=True)
                try:
                    duplicate = key in seen
                except TypeError:          # an unhashable key: SafeLoader's own error says so
                    break
                if duplicate:
                    raise ValuesFileError(f"{path}: line {key_node.start_mark.line + 1}: key {key!r} is written "
                                          "twice in the same mapping (only one can be meant)")
                seen.add(key)
            return super().construct_mapping(node, deep=deep)

    return _Loader


def _check_plain(value, where: str, path: str) -> None:
    """Refuse anything but JSON-like data, naming the key path."""
    stack = [(value, where)]
    while stack:
        item, at = stack.pop()
        if isinstance(item, dict):
            for key, sub in item.items():
                if not isinstance(key, _PLAIN) or key is None:
                    raise ValuesFileError(f"{path}: {at or '(top level)'}: key {key!r} is not a string or number")
                stack.append((sub, values_schema._join(at, key)))  # pylint: disable=protected-access
        elif isinstance(item, list):
            stack.extend((sub, f"{at}[{i}]") for i, sub in enumerate(item))
        elif not isinstance(item, _PLAIN):
            raise ValuesFileError(f"{path}: {at}: {type(item).__name__} value {str(item)!r} is not plain data; "
                                  "quote it to keep it as a string")


def unknown_keys_message(path: str, keys) -> str:
    """One message naming every top-level key of the values file that is not a values key (``confirm_delete``):
    such a setting of a run belongs to ``host_vars/<host>/main.yml`` or the command line."""
    lines = []
    for key in keys:
        close = values_schema._suggest(key, values_schema.TOP_LEVEL_KEYS)  # pylint: disable=protected-access
        hint = close if "did you mean" in close else f"; set it in host_vars/<host>/main.yml or pass it with -e {key}=..."
        lines.append(f"{key} is not a values.yml key{hint}")
    return (f"{path}: only the values keys ({', '.join(values_schema.TOP_LEVEL_KEYS)}) are read from the values "
            "file: " + "; ".join(lines))


def parse(text: str, path: str = "values.yml") -> dict:
    """The values in ``text`` (the YAML of a values file named ``path`` in messages): a dict whose top-level keys
    are all in :data:`values_schema.TOP_LEVEL_KEYS` (an empty file gives ``{}``). Raises :class:`ValuesFileError`
    for a file over :data:`MAX_BYTES`, a YAML error, an alias, a key written twice, a value that is not plain
    data, a top level that is not a mapping, or an unknown top-level key."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise ValuesFileError(f"{path}: larger than {MAX_BYTES} bytes; a values file is a few kilobytes")
    try:
        data = yaml.load(text, Loader=_loader_class(path))  # nosec B506: a SafeLoader subclass
    except ValuesFileError:
        raise
    except yaml.YAMLError as exc:
        raise ValuesFileError(f"{path}: not valid YAML: {exc}") from None
    except RecursionError:
        raise ValuesFileError(f"{path}: nested too deeply to be a values file") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValuesFileError(f"{path}: must be a mapping of the values keys ({', '.join(values_schema.TOP_LEVEL_KEYS)}),"
                              f" not {values_schema._kind(data)}")  # pylint: disable=protected-access
    unknown = [str(k) for k in data if k not in values_schema.TOP_LEVEL_KEYS]
    if unknown:
        raise ValuesFileError(unknown_keys_message(path, unknown))
    _check_plain(data, "", path)
    return data


def load(path: str) -> dict:
    """The values of the file at ``path`` (see :func:`parse`). Raises :class:`ValuesFileError` when the file is
    missing, unreadable, larger than :data:`MAX_BYTES` (checked before reading it all) or refused by :func:`parse`."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise ValuesFileError(f"{path}: the values file of this cluster does not exist (docs/inventory.md: "
                              "inventories/values/<host>.yml, or inventory_values_file in host_vars/<host>/main.yml)"
                              ) from None
    except OSError as exc:
        raise ValuesFileError(f"{path}: cannot be read: {exc.strerror}") from None
    if len(raw) > MAX_BYTES:
        raise ValuesFileError(f"{path}: larger than {MAX_BYTES} bytes; a values file is a few kilobytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValuesFileError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    return parse(text, path)


def legacy_files(dirs) -> list[str]:
    """The values files left under ``host_vars/<host>/`` directories ``dirs`` (where Ansible would load them as
    host variables and template them), for the error telling the operator to move them."""
    return [os.path.join(d, name) for d in dirs or () if d for name in LEGACY_NAMES
            if os.path.isfile(os.path.join(d, name))]


def legacy_message(host: str, found, variables, target: str) -> str:
    """The error for an inventory still in the old layout: values files under ``host_vars/`` (``found``) or
    values keys set as host or group variables (``variables``); ``target`` is where the file belongs now."""
    where = ", ".join(list(found) + [f"variable {v}" for v in variables])
    return (f"the values keys of {host} are read as data from {target} "
            f"and are no longer host variables (Ansible would template them); found {where}: move the values "
            f"file to {target} (docs/inventory.md); a values key may still be overridden on the command line (-e)")
