"""apply_plan: which rendered objects a server-side apply would change, orphans, check-mode namespaces."""
import copy

from ansible_collections.tidepool.eks.plugins.module_utils.k8s import drift as ap
from ansible_collections.tidepool.eks.plugins.module_utils.k8s import changes, objects


def sa(ns, name, role="arn:aws:iam::1:role/r"):
    return objects.with_labels({"apiVersion": "v1", "kind": "ServiceAccount",
                           "metadata": {"name": name, "namespace": ns,
                                        "annotations": {"eks.amazonaws.com/role-arn": role}}}, "c1", "cluster")


def live_of(obj, *, extra_fields=None, owned=None, manager=objects.FIELD_MANAGER):
    """What the API server returns after a server-side apply of ``obj`` by ``manager``."""
    live = copy.deepcopy(obj)
    live["metadata"].update(uid="u", resourceVersion="7", creationTimestamp="2026-01-01T00:00:00Z")
    fields = owned if owned is not None else to_fields(obj)
    live["metadata"]["managedFields"] = [
        {"manager": "kube-controller-manager", "operation": "Update", "fieldsV1": {"f:secrets": {}}},
        {"manager": manager, "operation": "Apply", "fieldsV1": fields},
    ]
    for path, value in (extra_fields or {}).items():
        cur = live
        for part in path[:-1]:
            cur = cur.setdefault(part, {})
        cur[path[-1]] = value
    return live


def to_fields(obj):
    def conv(v):
        if isinstance(v, dict) and v:
            return {f"f:{k}": conv(x) for k, x in v.items()}
        return {}
    out = conv({k: v for k, v in obj.items() if k not in ("apiVersion", "kind")})
    out["f:metadata"].pop("f:name", None)
    out["f:metadata"].pop("f:namespace", None)
    return out


def test_labels_name_cluster_and_part_and_keep_the_objects_own():
    obj = objects.with_labels({"apiVersion": "v1", "kind": "Namespace",
                          "metadata": {"name": "qa1", "labels": {"team": "x"}}}, "c1", "cluster")
    assert obj["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "tidepool.eks",
                                         "tidepool.org/cluster": "c1", "tidepool.org/config-part": "cluster",
                                         "team": "x"}
    assert objects.label_selector("c1") == "app.kubernetes.io/managed-by=tidepool.eks,tidepool.org/cluster=c1"
    # namespaces belong to the cluster part whichever part applies them (they are applied by several)
    ns = objects.with_labels({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "qa1"}}, "c1", "environments")
    assert ns["metadata"]["labels"]["tidepool.org/config-part"] == "cluster"


def test_unchanged_object_is_not_applied_even_with_server_defaults():
    obj = sa("qa1", "auth")
    live = live_of(obj, extra_fields={("secrets",): [{"name": "token"}], ("metadata", "annotations", "other"): "x"})
    plan = ap.plan([obj], {objects.key(obj): live}, {"qa1"}, labelled=[live])
    assert plan.apply == [] and plan.unchanged == [objects.key(obj)] and plan.orphans == []


def test_changed_value_missing_object_and_foreign_owner_are_applied():
    a, b, c = sa("qa1", "a"), sa("qa1", "b"), sa("qa1", "c")
    live_a = live_of(sa("qa1", "a", role="arn:aws:iam::1:role/old"))
    live_c = live_of(c, manager="kubectl-client-side-apply")  # never applied by tidepool.eks (SSA)
    plan = ap.plan([a, b, c], {objects.key(a): live_a, objects.key(c): live_c}, {"qa1"}, labelled=[live_a, live_c])
    assert plan.apply == [a, b, c]


def test_field_removed_from_the_inventory_is_a_change():
    old = sa("qa1", "auth")
    old["metadata"]["annotations"]["dropped"] = "yes"
    new = sa("qa1", "auth")
    live = live_of(old)  # tidepool.eks owns the dropped annotation: SSA of `new` would remove it
    assert changes.is_subset(objects.strip_server_fields(new, deletion=True), objects.strip_server_fields(live, deletion=True))
    assert not changes.unchanged(new, live)
    assert ap.plan([new], {objects.key(new): live}, {"qa1"}).apply == [new]


def test_lists_are_one_field_in_owned_and_desired_paths():
    fields = {"f:spec": {"f:containers": {'k:{"name":"a"}': {".": {}, "f:image": {}}}, "f:replicas": {}}}
    assert changes.owned_paths(fields) == {("spec", "containers"), ("spec", "replicas")}
    assert changes.desired_paths({"spec": {"containers": [{"name": "a", "image": "x"}], "replicas": 1},
                             "metadata": {"name": "n"}, "kind": "Deployment"}) == \
        {("spec", "containers"), ("spec", "replicas")}


def test_subset_rules():
    assert changes.is_subset({"a": [1, {"b": 2}]}, {"a": [1, {"b": 2, "c": 3}], "d": 4})
    assert not changes.is_subset({"a": [1]}, {"a": [1, 2]})
    assert not changes.is_subset({"a": True}, {"a": 1})
    assert not changes.is_subset({"a": "1"}, {"a": 1})
    assert changes.is_subset({"a": 1}, {"a": 1.0})


def test_check_mode_puts_objects_of_missing_namespaces_in_create_later():
    ns = objects.with_labels({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "zz1"}}, "c1", "cluster")
    obj = sa("zz1", "auth")
    plan = ap.plan([ns, obj], {}, {"default"}, check_mode=True)
    assert plan.apply == [ns]            # cluster-scoped: the server can dry-run it
    assert plan.create_later == [obj]
    real = ap.plan([ns, obj], {}, {"default"}, check_mode=False)
    assert real.apply == [ns, obj] and real.create_later == []


def test_orphans_are_labelled_objects_no_longer_rendered_namespaces_last():
    keep = sa("qa1", "auth")
    gone_ns = objects.with_labels({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "zz1"}}, "c1", "cluster")
    gone_sa = sa("zz1", "auth")
    labelled = [live_of(keep), live_of(gone_ns), live_of(gone_sa)]
    assert ap.plan([keep], {objects.key(keep): labelled[0]}, {"qa1"}, labelled=labelled, part="environments").orphans == []
    plan = ap.plan([keep], {objects.key(keep): labelled[0]}, {"qa1", "zz1"}, labelled=labelled, part="cluster")
    assert plan.orphans == [
        {"apiVersion": "v1", "kind": "ServiceAccount", "namespace": "zz1", "name": "auth"},
        {"apiVersion": "v1", "kind": "Namespace", "namespace": "", "name": "zz1"},
    ]
    assert plan.as_dict()["unchanged"] == 1
    assert objects.ref(plan.orphans and ("v1", "Namespace", "", "zz1")) == "Namespace zz1"
    assert objects.ref(keep) == "ServiceAccount qa1/auth"


def test_atomic_maps_and_secret_string_data_compare_as_stored():
    crb = objects.with_labels({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                          "metadata": {"name": "x"},
                          "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "x"}},
                         "c1", "shared")
    fields = to_fields(crb)
    fields["f:roleRef"] = {}  # x-kubernetes-map-type: atomic
    assert changes.unchanged(crb, live_of(crb, owned=fields))
    secret = objects.with_labels({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "flux"},
                             "type": "Opaque", "stringData": {"repositories.yaml": "a: 1\n"}}, "c1", "shared")
    live = live_of(secret)
    live["data"] = {"repositories.yaml": "YTogMQo="}
    del live["stringData"]
    assert changes.unchanged(secret, live)
    live["data"] = {"repositories.yaml": "YTogMgo="}
    assert not changes.unchanged(secret, live)
