"""Validators built from the upstream schemas in ../shared/reference (data, not code)."""
from __future__ import annotations

import functools
import json

import jsonschema
import kubernetes_validate
import yaml

from ansible_collections.tidepool.eks.plugins.module_utils.config import catalogue
from tests.support.helpers import SHARED

REF = SHARED / "reference"
KUBERNETES_VERSION = catalogue.DEFAULT_KUBERNETES_VERSION


@functools.lru_cache()
def eksctl_validator() -> jsonschema.Draft7Validator:
    """eksctl's ClusterConfig schema (v0.201.0). Its metadata.version enum stops at 1.31; newer eksctl releases
    accept the newer EKS versions tidepool.eks defaults to, so the enum is extended with those (nothing else
    is changed)."""
    schema = json.loads((REF / "eksctl" / "clusterconfig-v1alpha5.schema.json").read_text())
    enum = schema["definitions"]["ClusterMeta"]["properties"]["version"]["enum"]
    enum.extend(v for v in catalogue.SUPPORTED_KUBERNETES_VERSIONS if v not in enum)
    return jsonschema.Draft7Validator(schema)


def _crd_schemas(path):
    out = {}
    for doc in yaml.safe_load_all(path.read_text()):
        if not doc or doc.get("kind") != "CustomResourceDefinition":
            continue
        spec = doc["spec"]
        for ver in spec.get("versions") or [{"name": spec.get("version")}]:
            schema = (ver.get("schema") or {}).get("openAPIV3Schema") or (spec.get("validation") or {}).get("openAPIV3Schema")
            if schema:
                out[(f"{spec['group']}/{ver['name']}", spec["names"]["kind"])] = schema
    return out


@functools.lru_cache()
def crd_schemas() -> dict:
    """{(apiVersion, kind): openAPIV3Schema} for every CRD under ../shared/reference/crds."""
    out = {}
    for path in sorted((REF / "crds").rglob("*.yaml")):
        out.update(_crd_schemas(path))
    return out


def validate_object(obj: dict) -> None:
    """Validate one rendered object: ClusterConfig against eksctl's schema, custom resources against their CRD's
    openAPIV3Schema, built-in kinds against the Kubernetes schemas of kubernetes-validate (strict)."""
    if obj.get("kind") == "ClusterConfig":
        errors = sorted(eksctl_validator().iter_errors(obj), key=lambda e: e.path)
        if errors:
            raise AssertionError("; ".join(f"{list(e.path)}: {e.message}" for e in errors))
        return
    key = (obj["apiVersion"], obj["kind"])
    schemas = crd_schemas()
    if key in schemas:
        jsonschema.validate(obj, schemas[key], cls=jsonschema.Draft7Validator)
        return
    kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
