"""An AWS endpoint that enforces IAM policies: the local stack's moto server started with
``INITIAL_NO_AUTH_ACTION_COUNT`` (moto then checks the signature and the caller's policies of every request after
the first N), on its own free loopback port, stopped after the test.

moto 5.2.5 enforces identity policies (inline and attached, user and assumed-role sessions, ``Deny`` wins, ``*``
wildcards in Action and Resource) but evaluates most services against the resource ``*`` and crashes on the
unsigned STS call of IRSA. The server process of this file (``python iam_moto.py -H ... -p ...``, what
:class:`EnforcedMoto` starts through ``local_stack.Stack``) adds what the proofs need, inside moto:

* Secrets Manager requests are evaluated against the secret's ARN (``arn:aws:secretsmanager:<region>:<account>:
  secret:<name>-XXXXXX``; ``...:secret:<name>`` for a secret that does not exist yet), as AWS does;
* ``AssumeRoleWithWebIdentity`` (unsigned, as in AWS) is allowed only when the role's trust policy lets the web
  identity token's issuer, ``sub`` and ``aud`` claims in (``StringEquals`` / ``StringLike``);
* S3 requests are named with the IAM action AWS checks (``HeadBucket`` is ``s3:ListBucket``; ``?encryption``,
  ``?publicAccessBlock``, ``?ownershipControls`` have their own actions);
* JSON-protocol services (Secrets Manager...) answer ``AccessDeniedException`` in JSON (moto answers XML);
* S3 denials name the caller and the action as AWS's do (``User: <arn> is not authorized to perform: s3:CreateBucket
  because no identity-based policy allows the s3:CreateBucket action``; moto says ``Access Denied``);
* every evaluated request is appended to the audit file ``IAM_MOTO_AUDIT`` (``<result> <action> <resource>``), so
  a test sees which action was denied.

Conditions of identity policies are not evaluated by moto (a ``Condition`` makes its statement deny): the
published runner policies (docs/iam/) carry none.
"""
from __future__ import annotations

import base64
import contextlib
import fnmatch
import json
import os
import sys
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"
REGION = "us-east-1"
ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
#: Requests before enforcement starts: CreateUser, PutUserPolicy, CreateAccessKey of the admin (:meth:`start`).
BOOTSTRAP_CALLS = 3


# ------------------------------------------------------------------------------------------ server side
def _audit(result: str, action: str, resource: str) -> None:
    path = os.environ.get("IAM_MOTO_AUDIT")
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(f"{result} {action} {resource}\n")


def _claims(token: str) -> dict:
    """The payload of a JWT (not verified: the local stack has no OIDC keys)."""
    try:
        payload = token.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}


def trust_allows(trust: dict, claims: dict) -> bool:
    """Whether trust policy ``trust`` lets a web identity with ``claims`` (``iss``, ``sub``, ``aud``) assume the
    role: an Allow statement for ``sts:AssumeRoleWithWebIdentity`` whose ``Federated`` principal is the issuer's
    OIDC provider and whose ``StringEquals`` / ``StringLike`` conditions on ``<issuer>:sub|aud`` hold."""
    issuer = str(claims.get("iss", "")).removeprefix("https://")
    for st in trust.get("Statement", []):
        actions = st.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        federated = (st.get("Principal") or {}).get("Federated", "")
        if st.get("Effect") != "Allow" or "sts:AssumeRoleWithWebIdentity" not in actions:
            continue
        if not issuer or not str(federated).endswith(f":oidc-provider/{issuer}"):
            continue
        ok = True
        for op, pairs in (st.get("Condition") or {}).items():
            for key, expected in pairs.items():
                name = key.removeprefix(f"{issuer}:")
                actual = str(claims.get(name, ""))
                expected = [expected] if isinstance(expected, str) else expected
                if op == "StringEquals":
                    ok &= actual in expected
                elif op == "StringLike":
                    ok &= any(fnmatch.fnmatchcase(actual, e) for e in expected)
                else:
                    ok = False
        if ok:
            return True
    return False


def install() -> None:
    """Patch moto (in the server process) as the module docstring says."""
    from moto.core import authorization
    from moto.core.exceptions import AccessDeniedError, JsonRESTError
    from moto.iam import access_control
    from moto.iam.models import iam_backends
    from moto.s3 import responses as s3_responses
    from moto.s3.exceptions import S3AccessDeniedError
    from moto.secretsmanager.models import secretsmanager_backends
    from moto.secretsmanager.responses import SecretsManagerResponse

    bucket = s3_responses.ACTION_MAP["BUCKET"]
    bucket["HEAD"]["DEFAULT"] = "ListBucket"
    bucket["GET"].update(encryption="GetEncryptionConfiguration", publicAccessBlock="GetBucketPublicAccessBlock",
                         ownershipControls="GetBucketOwnershipControls")
    bucket["PUT"].update(encryption="PutEncryptionConfiguration", publicAccessBlock="PutBucketPublicAccessBlock",
                         ownershipControls="PutBucketOwnershipControls")
    bucket["DELETE"].update(encryption="PutEncryptionConfiguration", publicAccessBlock="PutBucketPublicAccessBlock",
                            ownershipControls="PutBucketOwnershipControls")

    def secret_resource(self) -> str:
        name = self._get_param("SecretId") or self._get_param("Name")
        if not name:
            return "*"
        found = secretsmanager_backends[self.current_account][self.region].secrets.get(name)
        if found is not None:
            return found.arn
        if name.startswith("arn:"):
            return name
        return f"arn:aws:secretsmanager:{self.region}:{self.current_account}:secret:{name}"

    SecretsManagerResponse._determine_resource = secret_resource

    def s3_denied(self):
        exc = S3AccessDeniedError()
        exc.message = (f"User: {self._access_key.arn} is not authorized to perform: {self._action} because no "
                       f"identity-based policy allows the {self._action} action")
        raise exc

    access_control.S3IAMRequest._raise_access_denied = s3_denied

    check = access_control.IAMRequestBase.check_action_permitted

    def audited(self, resource):
        try:
            check(self, resource)
        except Exception:
            _audit("DENY", self._action, resource)
            raise
        _audit("ALLOW", self._action, resource)

    access_control.IAMRequestBase.check_action_permitted = audited

    original = authorization.ActionAuthenticatorMixin._authenticate_and_authorize_action

    def authenticate(self, iam_request_cls, resource="*"):
        enforced = authorization.ActionAuthenticatorMixin.request_count >= authorization.settings.\
            INITIAL_NO_AUTH_ACTION_COUNT
        if enforced and "Authorization" not in self.headers and \
                self._get_action() == "AssumeRoleWithWebIdentity":
            role = iam_backends[self.current_account]["aws"].get_role_by_arn(self._get_param("RoleArn"))
            claims = _claims(self._get_param("WebIdentityToken") or "")
            allowed = trust_allows(json.loads(role.assume_role_policy_document), claims)
            _audit("ALLOW" if allowed else "DENY", "sts:AssumeRoleWithWebIdentity", resource)
            if not allowed:
                raise AccessDeniedError(user_arn=f"web identity {claims.get('sub', '?')}",
                                        action="sts:AssumeRoleWithWebIdentity")
            return None
        try:
            return original(self, iam_request_cls, resource)
        except AccessDeniedError as exc:
            if not self.headers.get("X-Amz-Target"):
                raise
            # JSON-protocol services (Secrets Manager, EKS...) answer AccessDeniedException in JSON, as AWS does.
            denied = JsonRESTError("AccessDeniedException", exc.message)
            denied.code = 400
            raise denied from None

    authorization.ActionAuthenticatorMixin._authenticate_and_authorize_action = authenticate


def main(argv: list[str]) -> None:
    sys.path.insert(0, str(REPO / "scripts"))
    install()
    from local_stack import moto_eks_shim
    moto_eks_shim.main(argv)


# ------------------------------------------------------------------------------------------ test side
def web_identity_token(issuer: str, namespace: str, service_account: str) -> str:
    """An (unsigned) projected service account token as EKS issues it for IRSA."""
    def part(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")
    claims = {"iss": f"https://{issuer}", "sub": f"system:serviceaccount:{namespace}:{service_account}",
              "aud": "sts.amazonaws.com"}
    return f"{part({'alg': 'RS256'})}.{part(claims)}.c2ln"


def irsa_trust_policy(issuer: str, namespace: str, service_account: str, account: str = ACCOUNT) -> dict:
    """The trust policy eksctl gives an IRSA role: the cluster's OIDC provider, for one service account."""
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
        "Principal": {"Federated": f"arn:aws:iam::{account}:oidc-provider/{issuer}"},
        "Condition": {"StringEquals": {f"{issuer}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                                       f"{issuer}:aud": "sts.amazonaws.com"}}}]}


def runner_policies(names, cluster: str, account: str = ACCOUNT, region: str = REGION) -> dict[str, dict]:
    """The published runner policies ``docs/iam/<name>.json`` of ``names`` for one cluster ({name: document}):
    the placeholders ``<cluster>``, ``<account>`` and ``<region>`` replaced, as an operator does (docs/iam/README.md)."""
    out = {}
    for name in names:
        text = (REPO / "docs" / "iam" / f"{name}.json").read_text()
        for key, value in (("<cluster>", cluster), ("<account>", account), ("<region>", region)):
            text = text.replace(key, value)
        out[name] = json.loads(text)
    return out


class EnforcedMoto:
    """A moto server enforcing IAM, on a free loopback port (``local_stack.Stack`` with this file as its moto
    program). :meth:`start` creates the ``admin`` user (allowed everything) in the first
    :data:`BOOTSTRAP_CALLS` requests; every later request is checked. Use as a context manager."""

    def __init__(self, tmp_dir: Path):
        sys.path.insert(0, str(REPO / "scripts"))
        import local_stack
        self.stack = local_stack.Stack.ephemeral(Path(tmp_dir) / "iam-moto")
        self.audit = Path(tmp_dir) / "iam-moto-audit.log"
        self.stack.moto_program = Path(__file__).resolve()
        self.stack.moto_env = {"INITIAL_NO_AUTH_ACTION_COUNT": str(BOOTSTRAP_CALLS),
                               "IAM_MOTO_AUDIT": str(self.audit)}
        self.endpoint = self.stack.aws_endpoint
        self.admin: dict[str, str] = {}

    def start(self) -> "EnforcedMoto":
        self.stack.up("moto")
        iam = self.client("iam", {"aws_access_key_id": "bootstrap", "aws_secret_access_key": "bootstrap"})
        iam.create_user(UserName="admin")
        iam.put_user_policy(UserName="admin", PolicyName="admin", PolicyDocument=json.dumps(ALLOW_ALL))
        key = iam.create_access_key(UserName="admin")["AccessKey"]
        self.admin = {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}
        return self

    def stop(self) -> None:
        self.stack.down(["moto"])

    def __enter__(self) -> "EnforcedMoto":
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()

    def client(self, service: str, creds: dict | None = None):
        """A boto3 client of the enforced endpoint with ``creds`` (default: the admin's)."""
        import boto3
        return boto3.client(service, endpoint_url=self.endpoint, region_name=REGION, **(creds or self.admin))

    def user(self, name: str, policies: dict[str, dict]) -> dict[str, str]:
        """Create IAM user ``name`` holding exactly the inline ``policies`` ({name: document}); return its
        credentials (boto3 keyword arguments)."""
        iam = self.client("iam")
        iam.create_user(UserName=name)
        for pname, doc in policies.items():
            iam.put_user_policy(UserName=name, PolicyName=pname, PolicyDocument=json.dumps(doc))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}

    def set_user_policies(self, name: str, policies: dict[str, dict]) -> None:
        """Give user ``name`` exactly the inline ``policies`` ({name: document}; a document without statements is
        removed): the policies it held before and are not named are deleted."""
        iam = self.client("iam")
        for pname in iam.list_user_policies(UserName=name)["PolicyNames"]:
            if not policies.get(pname, {}).get("Statement"):
                iam.delete_user_policy(UserName=name, PolicyName=pname)
        for pname, doc in policies.items():
            if doc.get("Statement"):
                iam.put_user_policy(UserName=name, PolicyName=pname, PolicyDocument=json.dumps(doc))

    def role(self, name: str, trust: dict, policy: dict) -> str:
        """Create role ``name`` with ``trust`` and the inline ``policy``; return its ARN."""
        iam = self.client("iam")
        arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        iam.put_role_policy(RoleName=name, PolicyName=name, PolicyDocument=json.dumps(policy))
        return arn

    def assume_web_identity(self, role_arn: str, token: str) -> dict[str, str]:
        """Credentials of ``AssumeRoleWithWebIdentity`` (unsigned, as the AWS SDKs of IRSA pods call it)."""
        import boto3
        from botocore import UNSIGNED
        from botocore.config import Config
        sts = boto3.client("sts", endpoint_url=self.endpoint, region_name=REGION, config=Config(signature_version=UNSIGNED))
        c = sts.assume_role_with_web_identity(RoleArn=role_arn, RoleSessionName="irsa", WebIdentityToken=token)
        c = c["Credentials"]
        return {"aws_access_key_id": c["AccessKeyId"], "aws_secret_access_key": c["SecretAccessKey"],
                "aws_session_token": c["SessionToken"]}

    def denied(self) -> list[tuple[str, str]]:
        """(action, resource) of every request the endpoint denied so far."""
        if not self.audit.exists():
            return []
        return [tuple(line.split(" ", 2)[1:]) for line in self.audit.read_text().splitlines()
                if line.startswith("DENY ")]

    def health(self) -> bool:
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(self.endpoint + "/moto-api/config", timeout=5) as resp:
                return resp.status == 200
        return False


if __name__ == "__main__":
    main(sys.argv[1:])
