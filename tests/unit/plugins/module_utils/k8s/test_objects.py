"""Object helpers and the one change rule (both of its modes)."""
from ansible_collections.tidepool.eks.plugins.module_utils.k8s import changes, objects


def cm(data, **meta):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "n", **meta}, "data": data}


def test_references():
    assert objects.ref(cm({})) == "ConfigMap n/c"
    assert objects.ref({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "qa1"}}) == "Namespace qa1"
    assert objects.ref(objects.key(cm({}))) == "ConfigMap n/c"


def test_strip_server_fields_leaves_the_input_alone():
    live = cm({"k": "v"}, uid="1", resourceVersion="2", deletionTimestamp="t")
    live["status"] = {"x": 1}
    assert objects.strip_server_fields(live) == cm({"k": "v"}, deletionTimestamp="t")
    assert objects.strip_server_fields(live, deletion=True) == cm({"k": "v"})
    assert live["metadata"]["uid"] == "1" and "status" in live
    assert objects.strip_server_fields(None) is None


def test_dry_run_mode_compares_whole_objects():
    live = cm({"k": "v"}, uid="1", resourceVersion="2")
    assert changes.unchanged(cm({"k": "v"}, uid="1", resourceVersion="3"), live, dry_run=True)
    assert not changes.unchanged(cm({"k": "v", "extra": "x"}), live, dry_run=True)
    assert not changes.unchanged(cm({"k": "v"}), None, dry_run=True)


def test_rendered_mode_needs_subset_and_ownership():
    owned = [{"manager": objects.FIELD_MANAGER, "operation": "Apply", "fieldsV1": {"f:data": {"f:k": {}}}}]
    live = cm({"k": "v", "server": "default"}, managedFields=owned)
    assert changes.unchanged(cm({"k": "v"}), live)
    assert not changes.unchanged(cm({"k": "w"}), live)
    # the same object, never applied by this field manager: a change (the apply takes ownership)
    assert not changes.unchanged(cm({"k": "v"}), cm({"k": "v"}))
    # the dry-run rule would see the server-defaulted field as a difference
    assert not changes.unchanged(cm({"k": "v"}), live, dry_run=True)
