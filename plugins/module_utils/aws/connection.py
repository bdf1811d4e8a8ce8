# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""The one AWS connection helper of tidepool.eks.

Every module, lookup and script of the collection that talks to AWS builds its boto3 clients here,
never on its own (DESIGN.md, "Style"). This file owns:

* :func:`aws_argument_spec` - the shared connection options, merged into each module's argument spec
  (documented once in ``plugins/doc_fragments/aws.py``);
* :func:`resolve_connection` - options + environment -> one connection dict (``endpoint_url`` falls back
  to ``AWS_ENDPOINT_URL``, region to ``AWS_REGION``/``AWS_DEFAULT_REGION`` and the profile's region);
* :func:`client` - a boto3 client with botocore's retry handler configured (``standard`` or ``adaptive``
  mode, ``retries`` attempts), so throttling (``ThrottlingException``, ``TooManyRequestsException``, 5xx)
  is retried with jittered exponential backoff by botocore itself;
* :class:`AwsError` / :func:`describe_error` / :func:`call` - one clear sentence for
  NoCredentials, EndpointConnection and ClientError failures, naming the operation and the resource.

It is plain Python (no AnsibleModule dependency) so lookups, the benchmark and unit tests use it too.
Error messages never include request parameters (they may carry secret values), only the operation,
the resource name given by the caller and AWS's error code/message.
"""
from __future__ import annotations

import os

try:
    import boto3
    import botocore
    from botocore.config import Config
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
        PartialCredentialsError,
        ProfileNotFound,
    )
    HAS_BOTO3 = True
    BOTO3_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - exercised only without boto3
    HAS_BOTO3 = False
    BOTO3_IMPORT_ERROR = exc
    BotoCoreError = ClientError = EndpointConnectionError = NoCredentialsError = Exception  # type: ignore
    NoRegionError = PartialCredentialsError = ProfileNotFound = Exception  # type: ignore

try:
    from ansible.module_utils.basic import env_fallback
except ImportError:  # pragma: no cover - plain Python users without ansible-core
    env_fallback = None

from ansible_collections.tidepool.eks.plugins.module_utils.common.errors import TidepoolError

#: Retry modes of botocore's retry handler (``standard``: exponential backoff with jitter and a
#: retry quota; ``adaptive``: the same plus client-side rate limiting for bursts of writes).
RETRY_MODES = ("standard", "adaptive")
DEFAULT_RETRIES = 10
DEFAULT_RETRY_MODE = "standard"
USER_AGENT_EXTRA = "tidepool.eks"

#: Environment variables read when an option is not set (in this order).
ENV = {
    "region": ("AWS_REGION", "AWS_DEFAULT_REGION"),
    "profile": ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"),
    "endpoint_url": ("AWS_ENDPOINT_URL",),
    "aws_access_key_id": ("AWS_ACCESS_KEY_ID",),
    "aws_secret_access_key": ("AWS_SECRET_ACCESS_KEY",),
    "aws_session_token": ("AWS_SESSION_TOKEN",),
}

#: Option names of the connection (what :func:`resolve_connection` reads from a params dict).
CONNECTION_OPTIONS = ("region", "profile", "endpoint_url", "aws_access_key_id", "aws_secret_access_key",
                      "aws_session_token", "retries", "retry_mode")


class AwsError(TidepoolError):
    """An AWS failure, already phrased as one sentence for the user.

    ``code`` is AWS's error code (``ResourceNotFoundException``...) or a local class name
    (``NoCredentialsError``); ``operation`` the API operation that failed.
    """

    def __init__(self, message: str, code: str | None = None, operation: str | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.operation = operation

    def __str__(self) -> str:
        return self.message


def aws_argument_spec() -> dict:
    """Argument spec of the shared AWS connection options (documented in ``doc_fragments/aws.py``).

    Modules merge it: ``argument_spec = dict(aws_argument_spec(), name=dict(...), ...)``. The env
    fallbacks are those of the AWS CLI/SDK, ``AWS_ENDPOINT_URL`` included (not amazon.aws's ``AWS_URL``).
    """
    def fb(*names):
        return (env_fallback, list(names)) if env_fallback else None

    spec = {
        "region": dict(type="str", aliases=["aws_region"], fallback=fb(*ENV["region"])),
        "profile": dict(type="str", aliases=["aws_profile"], fallback=fb(*ENV["profile"])),
        "endpoint_url": dict(type="str", aliases=["aws_endpoint_url"], fallback=fb(*ENV["endpoint_url"])),
        "aws_access_key_id": dict(type="str", aliases=["access_key"], no_log=False,
                                  fallback=fb(*ENV["aws_access_key_id"])),
        "aws_secret_access_key": dict(type="str", aliases=["secret_key"], no_log=True,
                                      fallback=fb(*ENV["aws_secret_access_key"])),
        "aws_session_token": dict(type="str", aliases=["session_token"], no_log=True,
                                  fallback=fb(*ENV["aws_session_token"])),
        "retries": dict(type="int", default=DEFAULT_RETRIES),
        "retry_mode": dict(type="str", choices=list(RETRY_MODES), default=DEFAULT_RETRY_MODE),
    }
    for opt in spec.values():
        if opt.get("fallback") is None:
            opt.pop("fallback", None)
    return spec


def _env(name: str, environ=None) -> str | None:
    environ = os.environ if environ is None else environ
    for var in ENV.get(name, ()):
        if environ.get(var):
            return environ[var]
    return None


def resolve_connection(params: dict | None = None, environ=None) -> dict:
    """Options (a module's params, a lookup's options, keyword args) -> a complete connection dict.

    Unset options fall back to the environment like the AWS CLI does. ``profile`` and explicit keys
    are mutually exclusive (a profile given together with environment keys wins over the keys).
    """
    params = dict(params or {})
    conn = {}
    for name in CONNECTION_OPTIONS:
        value = params.get(name)
        if value in (None, "") and name in ENV:
            value = _env(name, environ)
        conn[name] = value if value != "" else None
    if params.get("profile") and not params.get("aws_access_key_id"):
        # An explicit profile beats keys that only came from the environment.
        conn["aws_access_key_id"] = conn["aws_secret_access_key"] = conn["aws_session_token"] = None
    if params.get("profile") and params.get("aws_access_key_id"):
        raise AwsError("Options profile and aws_access_key_id/aws_secret_access_key are mutually exclusive: "
                       "give one of them.", code="InvalidParameters")
    if bool(conn["aws_access_key_id"]) != bool(conn["aws_secret_access_key"]):
        raise AwsError("aws_access_key_id and aws_secret_access_key must be given together "
                       "(options or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY).", code="PartialCredentialsError")
    retries = conn.get("retries")
    conn["retries"] = DEFAULT_RETRIES if retries is None else int(retries)
    if conn["retries"] < 0:
        raise AwsError(f"Option retries must be 0 or more, got {conn['retries']}.", code="InvalidParameters")
    conn["retry_mode"] = conn.get("retry_mode") or DEFAULT_RETRY_MODE
    if conn["retry_mode"] not in RETRY_MODES:
        raise AwsError(f"Option retry_mode must be one of {', '.join(RETRY_MODES)}, got {conn['retry_mode']!r}.",
                       code="InvalidParameters")
    return conn


def botocore_config(conn: dict, **extra) -> "Config":
    """botocore Config with the retry handler of ``conn`` (``retries`` retries on top of the first try)."""
    return Config(
        retries={"mode": conn.get("retry_mode") or DEFAULT_RETRY_MODE,
                 "total_max_attempts": int(conn.get("retries", DEFAULT_RETRIES)) + 1},
        user_agent_extra=USER_AGENT_EXTRA,
        **extra,
    )


def session(conn: dict):
    """boto3 Session for ``conn`` (raises :class:`AwsError` for an unknown profile)."""
    _require_boto3()
    kwargs = {}
    if conn.get("profile"):
        kwargs["profile_name"] = conn["profile"]
    if conn.get("aws_access_key_id"):
        kwargs["aws_access_key_id"] = conn["aws_access_key_id"]
        kwargs["aws_secret_access_key"] = conn["aws_secret_access_key"]
        if conn.get("aws_session_token"):
            kwargs["aws_session_token"] = conn["aws_session_token"]
    try:
        return boto3.session.Session(**kwargs)
    except ProfileNotFound:
        raise AwsError(f"AWS profile {conn.get('profile')!r} is not configured (~/.aws/config, ~/.aws/credentials); "
                       "set option profile to an existing profile.", code="ProfileNotFound") from None


def client(service: str, params: dict | None = None, *, conn: dict | None = None, environ=None,
           global_service: bool = False):
    """A boto3 client for ``service`` built from module params / lookup options.

    ``global_service`` (IAM, STS global endpoint) lets the region default to ``us-east-1``.
    Raises :class:`AwsError` when no region can be found or the profile does not exist.
    """
    _require_boto3()
    conn = conn or resolve_connection(params, environ)
    sess = session(conn)
    region = conn.get("region") or sess.region_name or ("us-east-1" if global_service else None)
    if not region:
        raise AwsError(f"No AWS region for {service}: set option region (for a cluster, "
                       "cluster.metadata.region) or AWS_REGION.", code="NoRegionError")
    kwargs = {"region_name": region, "config": botocore_config(conn)}
    if conn.get("endpoint_url"):
        kwargs["endpoint_url"] = conn["endpoint_url"]
    cli = sess.client(service, **kwargs)
    _install_call_counter(cli)
    return cli


#: Error codes of a request the caller's IAM policies do not allow (EC2 says UnauthorizedOperation).
ACCESS_DENIED_CODES = ("AccessDeniedException", "AccessDenied", "UnauthorizedOperation")
#: Operations whose IAM action has another name (``s3.HeadBucket`` is checked as ``s3:ListBucket``).
_IAM_ACTIONS = {"s3.HeadBucket": "s3:ListBucket", "s3.ListObjectsV2": "s3:ListBucket", "s3.ListObjects": "s3:ListBucket",
                "s3.HeadObject": "s3:GetObject", "s3.GetBucketEncryption": "s3:GetEncryptionConfiguration",
                "s3.PutBucketEncryption": "s3:PutEncryptionConfiguration"}


def iam_action(operation: str) -> str:
    """The IAM action AWS checks for ``operation`` (``secretsmanager.GetSecretValue`` ->
    ``secretsmanager:GetSecretValue``; the few S3 operations with another action name are mapped)."""
    return _IAM_ACTIONS.get(operation) or operation.replace(".", ":", 1)


def describe_error(exc: BaseException, operation: str, resource: str | None = None) -> AwsError:
    """Turn a boto/botocore exception into an :class:`AwsError` with one clear sentence.

    The sentence names ``operation`` (``secretsmanager.PutSecretValue``) and ``resource`` (a secret id,
    a bucket name), never request parameters; an access denial names the IAM action to allow (:func:`iam_action`).
    """
    what = f"{operation}" + (f" on {resource}" if resource else "")
    if isinstance(exc, AwsError):
        return exc
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return AwsError(f"{what} failed: no AWS credentials found; set profile or "
                        "aws_access_key_id/aws_secret_access_key (or AWS_PROFILE / AWS_ACCESS_KEY_ID and "
                        "AWS_SECRET_ACCESS_KEY).", code=type(exc).__name__, operation=operation)
    if isinstance(exc, EndpointConnectionError):
        url = getattr(exc, "kwargs", {}).get("endpoint_url", "")
        return AwsError(f"{what} failed: cannot connect to the AWS endpoint {url}; check endpoint_url "
                        "(AWS_ENDPOINT_URL), the region and the network.", code="EndpointConnectionError",
                        operation=operation)
    if isinstance(exc, NoRegionError):
        return AwsError(f"{what} failed: no AWS region; set option region or AWS_REGION.",
                        code="NoRegionError", operation=operation)
    if HAS_BOTO3 and isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        code = err.get("Code", "Unknown")
        message = (err.get("Message") or "").strip().rstrip(".")
        hint = ""
        if code in ACCESS_DENIED_CODES:
            hint = f"; the IAM policy of these credentials must allow {iam_action(operation)} (docs/iam/)"
        elif code in ("UnrecognizedClientException", "InvalidClientTokenId", "ExpiredTokenException",
                      "SignatureDoesNotMatch"):
            hint = "; check the credentials and the IAM permissions for this operation"
        elif code in ("ThrottlingException", "TooManyRequestsException", "Throttling", "RequestLimitExceeded"):
            hint = "; AWS kept throttling after all retries, raise option retries or use retry_mode adaptive"
        return AwsError(f"{what} failed: {code}: {message}{hint}.", code=code, operation=operation)
    if HAS_BOTO3 and isinstance(exc, BotoCoreError):
        return AwsError(f"{what} failed: {type(exc).__name__}: {exc}.", code=type(exc).__name__, operation=operation)
    return AwsError(f"{what} failed: {type(exc).__name__}: {exc}.", code=type(exc).__name__, operation=operation)


def error_code(exc: BaseException) -> str | None:
    """AWS error code of a ClientError / AwsError (``None`` for other exceptions)."""
    if isinstance(exc, AwsError):
        return exc.code
    if HAS_BOTO3 and isinstance(exc, ClientError):
        return exc.response.get("Error", {}).get("Code")
    return None


def call(cli, method: str, resource: str | None = None, **kwargs):
    """Call ``cli.<method>(**kwargs)``; any boto failure becomes an :class:`AwsError` naming the operation."""
    operation = f"{_service_name(cli)}.{_op_name(cli, method)}"
    try:
        return getattr(cli, method)(**kwargs)
    except Exception as exc:  # noqa: BLE001 - every boto failure gets one sentence
        if HAS_BOTO3 and isinstance(exc, (BotoCoreError, ClientError)):
            raise describe_error(exc, operation, resource) from None
        raise


def _service_name(cli) -> str:
    try:
        return cli.meta.service_model.service_name
    except AttributeError:
        return "aws"


def _op_name(cli, method: str) -> str:
    try:
        return cli.meta.method_to_api_mapping.get(method, method)
    except AttributeError:
        return method


def _require_boto3():
    if not HAS_BOTO3:
        raise AwsError(f"boto3 and botocore are required on the host running this task ({BOTO3_IMPORT_ERROR}); "
                       "install them (pip install boto3).", code="MissingDependency")


# ---------------------------------------------------------------------------------------------
# Optional call accounting (benchmarks, least-privilege reviews)
# ---------------------------------------------------------------------------------------------
#: When this variable names a file, every API call made by a client from :func:`client` appends
#: ``<service>.<Operation>`` to it (one line per API call; botocore's internal retries are not counted).
CALL_LOG_ENV = "TIDEPOOL_EKS_AWS_CALL_LOG"


def _install_call_counter(cli) -> None:
    path = os.environ.get(CALL_LOG_ENV)
    if not path:
        return

    def _record(model=None, **_kwargs):
        try:
            with open(path, "a", encoding="utf-8") as fh:
                fh.write(f"{_service_name(cli)}.{model.name}\n")
        except OSError:
            pass

    cli.meta.events.register("before-call", _record)


def botocore_version() -> str | None:
    return getattr(botocore, "__version__", None) if HAS_BOTO3 else None
