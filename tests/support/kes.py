"""What kubernetes-external-secrets would do on the local stack (it does not run there): one Secret per
``kubernetes-client.io/v1`` ExternalSecret, same name and namespace, its data read from Secrets Manager, with an
owner reference (``controller: true``) to the ExternalSecret, so that the garbage collector of the stack's
kube-controller-manager treats it as KES's Secret."""
from __future__ import annotations

import base64
import json

import boto3

KES = ("kubernetes-client.io/v1", "ExternalSecret")


def write_kes_secrets(api_client, endpoint: str, region: str = "us-east-1") -> dict:
    """Create (or replace) the Secret of every KES ExternalSecret of the cluster; returns ``{(namespace, name):
    data}`` (base64 values, as stored)."""
    from kubernetes import client as k8s
    from kubernetes.dynamic import DynamicClient

    dyn = DynamicClient(api_client)
    core = k8s.CoreV1Api(api_client)
    sm = boto3.client("secretsmanager", endpoint_url=endpoint, region_name=region)
    out = {}
    for es in dyn.resources.get(api_version=KES[0], kind=KES[1]).get().to_dict()["items"]:
        spec = es.get("spec") or {}
        values = {}
        data = {}
        for entry in spec.get("data") or []:
            if entry["key"] not in values:
                values[entry["key"]] = json.loads(sm.get_secret_value(SecretId=entry["key"])["SecretString"])
            data[entry["name"]] = base64.b64encode(str(values[entry["key"]][entry["property"]]).encode()).decode()
        meta = es["metadata"]
        body = {"apiVersion": "v1", "kind": "Secret", "type": (spec.get("template") or {}).get("type", "Opaque"),
                "metadata": {"name": meta["name"], "namespace": meta["namespace"], "ownerReferences": [{
                    "apiVersion": KES[0], "kind": KES[1], "name": meta["name"], "uid": meta["uid"],
                    "controller": True, "blockOwnerDeletion": True}]},
                "data": data}
        try:
            core.delete_namespaced_secret(meta["name"], meta["namespace"])
        except k8s.ApiException as exc:
            if exc.status != 404:
                raise
        core.create_namespaced_secret(meta["namespace"], body)
        out[(meta["namespace"], meta["name"])] = data
    return out


def secret_data(api_client, keys) -> dict:
    """``{(namespace, name): data or None}`` of the Secrets ``keys`` now."""
    from kubernetes import client as k8s
    core = k8s.CoreV1Api(api_client)
    out = {}
    for ns, name in keys:
        try:
            out[(ns, name)] = core.read_namespaced_secret(name, ns).data
        except k8s.ApiException as exc:
            if exc.status != 404:
                raise
            out[(ns, name)] = None
    return out


def irsa_for_secret_stores(api_client, endpoint: str, cluster: str, namespaces, account: str = "123456789012") -> list:
    """What eksctl does on EKS for the flavour-2 SecretStores (the IRSA service accounts of the ClusterConfig), where
    the local stack does not: in each of ``namespaces``, the service account ``secret-store`` (created when missing)
    annotated ``eks.amazonaws.com/role-arn`` with an IAM role in moto (web identity trust, read access to
    ``<cluster>/<namespace>/*``). A service account already annotated is left alone. Returns the namespaces done."""
    from kubernetes import client as k8s
    core = k8s.CoreV1Api(api_client)
    iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1")
    done = []
    for ns in sorted(set(namespaces)):
        try:
            sa = core.read_namespaced_service_account("secret-store", ns)
        except k8s.ApiException as exc:
            if exc.status != 404:
                raise
            sa = core.create_namespaced_service_account(ns, {"metadata": {"name": "secret-store"}})
        if (sa.metadata.annotations or {}).get("eks.amazonaws.com/role-arn"):
            continue
        name = f"{cluster}-{ns}-secret-store"
        trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
                                                         "Principal": {"Federated": "*"}}]}
        try:
            arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        except iam.exceptions.EntityAlreadyExistsException:
            arn = iam.get_role(RoleName=name)["Role"]["Arn"]
        iam.put_role_policy(RoleName=name, PolicyName="read", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                "Resource": f"arn:aws:secretsmanager:us-east-1:{account}:secret:{cluster}/{ns}/*"}]}))
        core.patch_namespaced_service_account("secret-store", ns,
                                              {"metadata": {"annotations": {"eks.amazonaws.com/role-arn": arn}}})
        done.append(ns)
    return done
