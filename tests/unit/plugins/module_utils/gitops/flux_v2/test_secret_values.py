"""The comparison of ESO's Secrets with the values in Secrets Manager (gitops/flux_v2/secret_values.py): what ESO
writes predicted for the forms the flavour-2 render uses, anything else not compared, names only in the result."""
from __future__ import annotations

import json

from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v2 import external_secrets, secret_values, wait

STORE = {"c1/qa1/auth": json.dumps({"password": "p\u00e4ss", "user": "u"}), "c1/qa1/plain": "raw-text",
         "c1/qa1/mixed": json.dumps({"port": 27017, "host": "h"}), "c1/qa1/user": json.dumps({"name": "fresh"})}


def remote(key):
    return STORE.get(key)


def rendered(name, keys, secret_type=None):
    return external_secrets.manifest({"name": name, "namespace": "qa1"}, f"c1/qa1/{name}", keys, secret_type=secret_type)


def test_the_rendered_external_secret_is_predicted_key_by_key():
    es = rendered("auth", ["password", "user"])
    assert secret_values.expected_data(es, remote) == {"password": "p\u00e4ss".encode(), "user": b"u"}
    # a type-only template (kubernetes.io/dockerconfigjson...) does not change the data
    assert secret_values.expected_data(rendered("auth", ["user"], "kubernetes.io/tls"), remote) == {"user": b"u"}


def test_the_fields_the_api_server_defaults_change_nothing():
    # what the API server stores: the CRD's defaults filled in (kubectl get externalsecret -o yaml)
    es = rendered("auth", ["password", "user"], "kubernetes.io/tls")
    es["spec"]["target"].update(deletionPolicy="Retain")
    es["spec"]["target"]["template"].update(engineVersion="v2", mergePolicy="Replace")
    for item in es["spec"]["data"]:
        item["remoteRef"].update(conversionStrategy="Default", decodingStrategy="None", metadataPolicy="None")
    assert secret_values.expected_data(es, remote) == {"password": "p\u00e4ss".encode(), "user": b"u"}
    es["spec"]["data"][0]["remoteRef"]["decodingStrategy"] = "Base64"  # ESO would decode: not predicted here
    assert secret_values.expected_data(es, remote) is None


def test_the_mapping_is_the_flavours_own():
    """The wait reads back what external_secrets.manifest writes (rendered again), not a second decoder."""
    es = rendered("auth", ["password", "user"])
    assert external_secrets.rendered_source(es) == ("c1/qa1/auth", ["password", "user"])
    es["spec"]["data"][1]["remoteRef"]["property"] = "password"  # another mapping than the flavour's
    assert external_secrets.rendered_source(es) is None
    unsorted = rendered("auth", ["password", "user"])
    unsorted["spec"]["data"].reverse()
    assert external_secrets.rendered_source(unsorted) is None


def test_what_is_not_predicted_is_not_guessed():
    templated = rendered("auth", ["user"])
    templated["spec"]["target"]["template"] = {"data": {"url": "mongodb://{{ .user }}"}}
    number = rendered("mixed", ["port"])  # ESO writes the raw JSON of a number: not compared
    missing = rendered("gone", ["a"])
    find = {"metadata": {"name": "f", "namespace": "qa1"}, "spec": {"dataFrom": [{"find": {"name": {"regexp": "."}}}]}}
    versioned = rendered("auth", ["user"])
    versioned["spec"]["data"][0]["remoteRef"]["version"] = "AWSPREVIOUS"
    extract = {"metadata": {"name": "x", "namespace": "qa1"},  # forms the flavour does not render
               "spec": {"dataFrom": [{"extract": {"key": "c1/qa1/auth"}}]}}
    whole = {"metadata": {"name": "y", "namespace": "qa1"},
             "spec": {"data": [{"secretKey": "all", "remoteRef": {"key": "c1/qa1/plain"}}]}}
    for es in (templated, number, missing, find, versioned, extract, whole):
        assert secret_values.expected_data(es, remote) is None, es


def test_compare_names_equal_differing_and_not_compared_secrets_and_never_a_value():
    secrets = {("qa1", "auth"): {"password": "p\u00e4ss".encode(), "user": b"u"},
               ("qa1", "user"): {"name": b"stale"},
               ("qa1", "mixed"): {"port": b"27017"}}
    items = [rendered("auth", ["password", "user"]),
             rendered("user", ["name"]),
             rendered("mixed", ["port"])]
    out = secret_values.compare(items, lambda ns, name: secrets.get((ns, name)), remote)
    assert out == {"equal": ["qa1/auth"], "differ": ["qa1/user"], "not_compared": ["qa1/mixed"]}
    assert "stale" not in repr(out) and "fresh" not in repr(out) and "p\u00e4ss" not in repr(out)


def test_a_missing_secret_or_a_changed_byte_differs():
    es = rendered("auth", ["password", "user"])
    assert secret_values.compare([es], lambda ns, n: None, remote)["differ"] == ["qa1/auth"]
    assert secret_values.compare([es], lambda ns, n: {"password": b"p\xc3\xa4ss", "user": b"U"}, remote)["differ"] == [
        "qa1/auth"]
    # keys beyond those ESO writes (creationPolicy Merge keeps them) are not looked at
    extra = {"password": "p\u00e4ss".encode(), "user": b"u", "old": b"kept"}
    assert secret_values.compare([es], lambda ns, n: extra, remote)["equal"] == ["qa1/auth"]


def test_the_waiter_reports_the_values_once_every_secret_is_present():
    ks = {"metadata": {"generation": 1}, "status": {"lastAppliedRevision": "master@sha1:" + "a" * 40}}
    es = rendered("auth", ["password", "user"])
    waiter = wait.Waiter(lambda *a: ks, None, lambda: [es], lambda ns, n: True,
                         check_values=lambda items: secret_values.compare(
                             items, lambda ns, n: {"password": "p\u00e4ss".encode(), "user": b"u"}, remote))
    out = waiter.poll("a" * 40, poll=1)
    assert out["done"] and out["values"]["equal"] == ["qa1/auth"]
    assert out["msg"].endswith("1 of 1 Secrets present, 1 of 1 byte-equal to their values in Secrets Manager")
