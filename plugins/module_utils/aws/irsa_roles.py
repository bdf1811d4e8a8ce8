# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""IAM roles for service accounts (IRSA) where eksctl does not create them: a cluster that is not EKS
(``cluster_provider: existing``, the local stack), whose service account issuer is registered in IAM as an
OpenID Connect provider.

What ``eksctl create iamserviceaccount`` creates for each ``iam.serviceAccounts`` entry of the ClusterConfig
(:func:`config.irsa.irsa_service_accounts`, the one place the policies are written):

* the cluster's OIDC provider (``arn:aws:iam::<account>:oidc-provider/<issuer host and path>``), once;
* a role (:func:`role_name`) trusted for ``sts:AssumeRoleWithWebIdentity`` by that provider for the one service
  account ``system:serviceaccount:<namespace>:<name>`` with audience ``sts.amazonaws.com`` (:func:`trust_policy`);
* the entry's ``attachPolicy`` as the role's inline policy :data:`POLICY_NAME`.

:func:`plan` reads IAM (no write) and returns a :class:`RolesPlan`; :func:`apply` performs it. Role ARNs are in
:attr:`RolesPlan.arns` (``{"<namespace>/<name>": arn}``), also for a role only planned (check mode). Raises
:class:`aws.connection.AwsError` naming the IAM operation and role on any AWS failure.
"""
from __future__ import annotations

import hashlib
import json
from urllib.parse import unquote

from ansible_collections.tidepool.eks.plugins.module_utils.aws.connection import call, error_code
from ansible_collections.tidepool.eks.plugins.module_utils.common.plan import Plan
from ansible_collections.tidepool.eks.plugins.module_utils.config import irsa

#: Name of the inline policy holding the entry's ``attachPolicy``.
POLICY_NAME = "tidepool-irsa"
AUDIENCE = "sts.amazonaws.com"
#: An OIDC provider needs a thumbprint; IAM no longer checks it for providers it trusts by CA, and the local
#: stack's AWS endpoint never does. A real issuer's thumbprint is given with ``thumbprint``.
DEFAULT_THUMBPRINT = "0" * 40
MAX_ROLE_NAME = 64


def service_account_entries(values: dict, flavour, scope: str = "secret_readers") -> list:
    """The ClusterConfig IRSA entries (:func:`config.irsa.irsa_service_accounts`) of ``scope``: ``all``, or
    ``secret_readers`` - the Secrets Manager readers of ``flavour``, the GitOps flavour of ``values``
    (:func:`config.irsa.secret_reader_accounts`; Flux v2: each namespace's ``secret-store``; Flux v1:
    ``external-secrets/external-secrets``)."""
    if scope == "all":
        return irsa.irsa_service_accounts(values, flavour)
    return irsa.secret_reader_accounts(values, flavour)


def issuer_host(issuer: str) -> str:
    """``https://host[:port]/path/`` -> ``host[:port]/path`` (the OIDC provider's ARN suffix and condition key)."""
    return issuer.split("://", 1)[-1].rstrip("/")


def provider_arn(account: str, issuer: str) -> str:
    return f"arn:aws:iam::{account}:oidc-provider/{issuer_host(issuer)}"


def role_name(cluster: str, namespace: str, name: str) -> str:
    """``eksctl-<cluster>-addon-iamserviceaccount-<namespace>-<name>`` (eksctl's stack name), cut to IAM's 64
    characters with a hash suffix when longer."""
    full = f"eksctl-{cluster}-addon-iamserviceaccount-{namespace}-{name}"
    if len(full) <= MAX_ROLE_NAME:
        return full
    digest = hashlib.sha256(full.encode()).hexdigest()[:8]
    return f"{full[:MAX_ROLE_NAME - 9]}-{digest}"


def trust_policy(account: str, issuer: str, namespace: str, name: str) -> dict:
    """The role's trust policy: web identity of service account ``namespace/name`` of the cluster's issuer."""
    host = issuer_host(issuer)
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
        "Principal": {"Federated": provider_arn(account, issuer)},
        "Condition": {"StringEquals": {f"{host}:sub": f"system:serviceaccount:{namespace}:{name}",
                                       f"{host}:aud": AUDIENCE}}}]}


def _doc(value) -> dict | None:
    """A policy document as IAM returns it (dict, JSON or URL-encoded JSON) -> dict."""
    if value is None or isinstance(value, dict):
        return value
    text = value if value.lstrip().startswith("{") else unquote(value)
    return json.loads(text)


class RolesPlan(Plan):
    """``provider``: the OIDC provider to create (None: it exists); ``roles``: ``[(key, role name, trust,
    policy, what)]`` with ``what`` in ``create``, ``update-trust``, ``update-policy``, ``update`` or ``ok``."""

    def __init__(self, account, issuer, provider, roles, thumbprint):
        self.account, self.issuer, self.provider, self.roles, self.thumbprint = (
            account, issuer, provider, roles, thumbprint)

    @property
    def changed(self) -> bool:
        return bool(self.provider) or any(r[4] != "ok" for r in self.roles)

    @property
    def arns(self) -> dict:
        return {key: f"arn:aws:iam::{self.account}:role/{name}" for key, name, _t, _p, _w in self.roles}

    def changes(self) -> list[str]:
        out = [f"create OIDC provider {self.provider}"] if self.provider else []
        return out + [f"{what} role {name} ({key})" for key, name, _t, _p, what in self.roles if what != "ok"]

    def diff(self):
        return [{"before_header": f"IAM role {name}", "after_header": f"IAM role {name}",
                 "before": "" if what == "create" else "(differs)\n", "after": json.dumps(
                     {"trust": trust, "policy": policy}, indent=2, sort_keys=True) + "\n"}
                for _k, name, trust, policy, what in self.roles if what != "ok"]


def plan(iam, *, cluster: str, account: str, issuer: str, accounts: list, thumbprint: str = DEFAULT_THUMBPRINT
         ) -> RolesPlan:
    """Read IAM and plan the provider and one role per entry of ``accounts`` (ClusterConfig
    ``iam.serviceAccounts`` entries: ``metadata.name``, ``metadata.namespace``, ``attachPolicy``)."""
    arn = provider_arn(account, issuer)
    providers = {p["Arn"] for p in call(iam, "list_open_id_connect_providers")["OpenIDConnectProviderList"]}
    roles = []
    for entry in accounts:
        ns, sa = entry["metadata"]["namespace"], entry["metadata"]["name"]
        name = role_name(cluster, ns, sa)
        trust, policy = trust_policy(account, issuer, ns, sa), entry["attachPolicy"]
        try:
            live = call(iam, "get_role", name, RoleName=name)["Role"]
        except Exception as exc:  # noqa: BLE001 - AwsError of NoSuchEntity: the role is missing
            if error_code(exc) != "NoSuchEntity":
                raise
            roles.append((f"{ns}/{sa}", name, trust, policy, "create"))
            continue
        try:
            live_policy = _doc(call(iam, "get_role_policy", name, RoleName=name,
                                    PolicyName=POLICY_NAME)["PolicyDocument"])
        except Exception as exc:  # noqa: BLE001
            if error_code(exc) != "NoSuchEntity":
                raise
            live_policy = None
        trust_ok, policy_ok = _doc(live["AssumeRolePolicyDocument"]) == trust, live_policy == policy
        if trust_ok and policy_ok:
            what = "ok"
        else:
            what = "update-policy" if trust_ok else ("update-trust" if policy_ok else "update")
        roles.append((f"{ns}/{sa}", name, trust, policy, what))
    return RolesPlan(account, issuer, None if arn in providers else arn, roles, thumbprint)


def apply(iam, p: RolesPlan) -> None:
    """Create the provider and create or update the roles of ``p``."""
    if p.provider:
        call(iam, "create_open_id_connect_provider", p.provider, Url=p.issuer.rstrip("/"), ClientIDList=[AUDIENCE],
             ThumbprintList=[p.thumbprint])
    for _key, name, trust, policy, what in p.roles:
        if what == "create":
            call(iam, "create_role", name, RoleName=name, AssumeRolePolicyDocument=json.dumps(trust),
                 Description="IRSA role of a service account (tidepool.eks, as eksctl create iamserviceaccount)")
        elif what in ("update", "update-trust"):
            call(iam, "update_assume_role_policy", name, RoleName=name, PolicyDocument=json.dumps(trust))
        if what in ("create", "update", "update-policy"):
            call(iam, "put_role_policy", name, RoleName=name, PolicyName=POLICY_NAME, PolicyDocument=json.dumps(policy))
