"""An in-memory stand-in for gitops.migrate.kube.Kube with the garbage collector's rules: deleting an owner with
propagation Background deletes its dependents; with Orphan it removes their owner references instead."""
from __future__ import annotations

import copy
import itertools

_uids = itertools.count(1)


class FakeKube:
    def __init__(self):
        self.store = {}
        self.writes = []

    @staticmethod
    def key(obj):
        """``(Kind[.group], namespace, name)``: kinds of the core and apps groups by their name alone."""
        group = obj.get("apiVersion", "v1").rpartition("/")[0]
        kind = obj["kind"] if group in ("", "apps", "apiextensions.k8s.io") else f"{obj['kind']}.{group}"
        return kind, obj["metadata"].get("namespace"), obj["metadata"]["name"]

    def add(self, obj):
        obj = copy.deepcopy(obj)
        obj["metadata"].setdefault("uid", f"uid-{next(_uids)}")
        self.store[self.key(obj)] = obj
        return obj

    def get(self, obj):
        live = self.store.get(self.key(obj))
        return copy.deepcopy(live) if live else None

    def list(self, api_version, kind, *, namespace=None, label_selector=None):
        out = []
        want = dict(p.split("=", 1) for p in label_selector.split(",")) if label_selector else {}
        for (k, ns, _n), obj in sorted(self.store.items(), key=lambda i: (i[0][0], i[0][1] or "", i[0][2])):
            if obj["kind"] != kind or obj.get("apiVersion") != api_version or (namespace and ns != namespace):
                continue
            labels = obj["metadata"].get("labels") or {}
            if all(labels.get(a) == b for a, b in want.items()):
                out.append(copy.deepcopy(obj))
        return out

    def apply(self, obj, dry_run=False):
        result = copy.deepcopy(obj)
        if not dry_run:
            self.store[self.key(obj)] = result
            self.writes.append(("apply", self.key(obj)))
        return result

    def invalidate(self):
        pass

    def _dependents(self, owner):
        uid = owner["metadata"]["uid"]
        return [o for o in self.store.values()
                if any(r.get("uid") == uid for r in o["metadata"].get("ownerReferences") or [])]

    def delete_with(self, obj, propagation):
        live = self.store.get(self.key(obj))
        self.writes.append(("delete:" + propagation, self.key(obj)))
        if live is None:
            return False
        for dep in self._dependents(live):
            if propagation == "Orphan":
                dep["metadata"]["ownerReferences"] = [r for r in dep["metadata"]["ownerReferences"]
                                                      if r.get("uid") != live["metadata"]["uid"]]
            else:
                self.delete_with(dep, propagation)
        del self.store[self.key(obj)]
        return True

    def delete(self, obj):
        return self.delete_with(obj, "Background")

    def merge_patch(self, obj, patch):
        live = self.store[self.key(obj)]

        def merge(a, b):
            for k, v in b.items():
                if isinstance(v, dict) and isinstance(a.get(k), dict):
                    merge(a[k], v)
                else:
                    a[k] = copy.deepcopy(v)
        merge(live, patch)
        self.writes.append(("patch", self.key(obj)))
        return copy.deepcopy(live)
