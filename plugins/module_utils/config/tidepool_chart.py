# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""The Tidepool charts tidepool.eks installs, and what each one needs: its source, its services and images, the IRSA
service accounts its workloads run as, and its secrets contract (every Secret and key its workloads reference).

Two generations, told apart by the chart's version (:func:`generation`):

* ``0.1`` -- chart 0.1.7 of the install guide (tidepool-org/development, branch ``k8s``, ``charts/tidepool/0.1.7``):
  what flavour 1 installs (``Flavour.TIDEPOOL_CHART``), its secrets as ``make_random_secrets`` wrote them
  (research ``tidepool-tools.md`` section 7.1).
* ``0.26`` -- chart 0.26.0 (tidepool-org/development tag ``tidepool-0.26.0``, ``charts/tidepool``, 2026-08-18): what
  flavour 2 installs. Its contract was read from the chart (pinned copy ``../shared/reference/charts/tidepool/
  0.26.0``): the ``secretKeyRef`` of every Deployment ``helm template`` renders with default values, and each
  subchart's ``0-secret.yaml`` for what the chart itself would generate (``randAlphaNum 40``) and which defaults it
  gives. ``tests/unit/plugins/module_utils/config/test_tidepool_chart_contract.py`` renders the pinned chart and fails
  when a referenced Secret or key is missing here. Any later version is read as this generation.

Tidepool publishes the chart in its git repository only (no HTTP chart repository is documented), so the default
source of 0.26.0 is the tag; ``environments.<env>.chart`` may name a Helm repository (``repository``, ``name``,
``version``) or another git source, and ``helm_chart_mirror`` rewrites every source (:mod:`config.chart_mirror`).
"""
from __future__ import annotations

import re

#: Chart 0.1.7 of the install guide.
CHART_0_1 = {"git": "git@github.com:tidepool-org/development", "path": "charts/tidepool/0.1.7", "ref": "k8s"}

#: Chart 0.26.0: the release tag of tidepool-org/development (``name`` and ``version`` say which chart a Helm
#: repository or the chart mirror serves for it).
CHART_0_26 = {"git": "https://github.com/tidepool-org/development", "path": "charts/tidepool",
              "ref": "refs/tags/tidepool-0.26.0", "name": "tidepool", "version": "0.26.0"}

#: The 19 services of chart 0.1.7 whose images the GitOps operator automates, in the guide's order.
SERVICES_0_1 = (
    "auth", "blip", "blob", "data", "export", "gatekeeper", "highwater", "hydrophone", "image",
    "jellyfish", "messageapi", "migrations", "notification", "seagull", "shoreline", "task",
    "tidewhisperer", "tools", "user",
)
_PLATFORM_0_1 = frozenset({"auth", "blob", "data", "image", "migrations", "notification", "task", "tools", "user"})
#: Docker Hub repositories of chart 0.1.7's services (``<service>.deployment.image``).
IMAGES_0_1 = {svc: f"docker.io/tidepool/{'platform-' if svc in _PLATFORM_0_1 else ''}{svc}" for svc in SERVICES_0_1}

#: Chart 0.26.0's Tidepool services (subchart -> image repository, ``<subchart>.deployment.image`` of its values
#: without the tag). plotly-orca (a renderer, tag ``latest``) is not automated.
IMAGES_0_26 = {svc: f"docker.io/tidepool/{image}" for svc, image in (
    ("auth", "platform-auth"), ("blip", "blip"), ("blob", "platform-blob"), ("clinic", "clinic"),
    ("clinic-worker", "clinic-worker"), ("data", "platform-data"), ("devices", "devices"), ("export", "export"),
    ("gatekeeper", "gatekeeper"), ("highwater", "highwater"), ("hydrophone", "hydrophone"),
    ("jellyfish", "jellyfish"), ("mailer", "mailer"), ("messageapi", "message-api"),
    ("migrations", "platform-migrations"), ("prescription", "platform-prescription"), ("seagull", "seagull"),
    ("shoreline", "shoreline"), ("task", "platform-task"), ("tidewhisperer", "tide-whisperer"),
    ("tools", "platform-tools"), ("uploader", "uploader"),
)}
SERVICES_0_26 = tuple(IMAGES_0_26)

#: Every service name an environment's ``gitops.<service>`` tag filter may name (either generation).
ALL_SERVICES = tuple(dict.fromkeys(SERVICES_0_1 + SERVICES_0_26))

#: IRSA service accounts of an environment, per generation: ``service -> (bucket, access, sends_email)``; bucket
#: ``data`` or ``asset``, access ``rw`` (list, get, put, delete) or ``ro`` (list, get); the sender also gets
#: ``ses:SendEmail`` / ``ses:SendRawEmail`` on the SES identity (config.irsa). 0.1.7: blob, image and jellyfish
#: store data, hydrophone reads assets and sends email. 0.26: blob stores data (blobs and device logs); hydrophone
#: reads assets; the mailer reads assets and sends email (``mailer.deployment.env.backend: ses``).
SERVICE_ACCOUNTS = {
    "0.1": {"blob": ("data", "rw", False), "image": ("data", "rw", False), "jellyfish": ("data", "rw", False),
            "hydrophone": ("asset", "ro", True)},
    "0.26": {"blob": ("data", "rw", False), "hydrophone": ("asset", "ro", False), "mailer": ("asset", "ro", True)},
}

#: A key whose value is generated (40 characters of ``[A-Za-z0-9]``, as the chart's ``randAlphaNum 40``).
GENERATED = "<generated>"


def _gen(*keys):
    return {k: GENERATED for k in keys}


def _operator(*keys):
    return {k: "" for k in keys}


#: Secrets of chart 0.1.7 (research section 7.1): ``name -> (keys, operator)``; ``keys``: key -> GENERATED or a
#: fixed default; ``operator``: True for credentials only the operator can give (placeholders until then).
SECRETS_0_1 = {
    "auth": (_gen("ServiceAuth"), False),
    "blob": (_gen("ServiceAuth"), False),
    "data": (_gen("ServiceAuth"), False),
    "image": (_gen("ServiceAuth"), False),
    "notification": (_gen("ServiceAuth"), False),
    "task": (_gen("ServiceAuth"), False),
    "user": (_gen("ServiceAuth"), False),
    "server": (_gen("ServiceAuth"), False),
    "export": (_gen("SessionEncryptionKey"), False),
    "shoreline": (_gen("ServiceAuth", "UserLongTermKey", "UserMailVerification"), False),
    "userdata": (_gen("GroupIdEncryptionKey", "UserIdSalt", "UserPasswordSalt"), False),
    # The in-cluster MongoDB of the chart (environments.<env>.mongodb.enabled). For an external MongoDB, give
    # <env>/mongo in secrets_vendor: vendor values overwrite these defaults.
    "mongo": ({"Scheme": "mongodb", "Addresses": "mongodb", "Username": "", "Password": "",
               "Database": "admin", "Tls": "false", "OptParams": ""}, False),
    # Sub-chart carelink (a Secret named ``jellyfish`` in chart 0.1.7, ``carelink`` later).
    "carelink": ({"CarelinkSalt": ""}, False),
    "dexcom": (_operator("ClientId", "ClientSecret", "StateSalt"), True),
    "kissmetrics": (_operator("APIKey", "Token", "UCSFAPIKey", "UCSFWhitelist"), True),
    "mailchimp": ({"ClinicLists": "[]", "PersonalLists": "[]", "URL": "", "ApiKey": ""}, True),
    "marketo": (_operator("ID", "Secret", "URL"), True),
}

#: Secrets of chart 0.26.0, the same shape. Generated: every key the chart's own ``0-secret.yaml`` generates with
#: ``randAlphaNum 40`` (server, auth, blob, data, export, prescription, task, shoreline with its Keycloak client
#: secrets, userdata). Fixed defaults: ``mongo`` as the chart's mongo subchart writes it (an in-cluster ``mongodb``
#: Service; for Atlas or another MongoDB give ``<env>/mongo`` in ``secrets_vendor``), ``kafka`` (its ``Password`` is
#: a required reference of 12 workloads even with Kafka off: an empty placeholder). Operator-supplied (every
#: reference to them is ``optional: true`` in the chart, so the empty placeholders let the pods start; the services
#: run without that vendor until the operator stores real values): vendor credentials, the token signing key pair,
#: the APNs key of care-partner alerts, the Redox and Xealth credentials of clinic / clinic-worker, Apple's
#: DeviceCheck key.
SECRETS_0_26 = {
    "server": (_gen("ServiceAuth"), False),
    "auth": ({**_gen("ServiceAuth"), "AppleDeviceCheckKey": ""}, False),
    "blob": (_gen("ServiceAuth"), False),
    "data": ({**_gen("ServiceAuth"), "PusherAPNSSigningKey": ""}, False),
    "export": (_gen("SessionEncryptionKey"), False),
    "prescription": (_gen("ServiceAuth"), False),
    "task": ({**_gen("ServiceAuth"), "PusherAPNSSigningKey": ""}, False),
    "shoreline": (_gen("ServiceAuth", "UserLongTermKey", "UserMailVerification", "KeycloakClientSecret",
                       "KeycloakBackendClientSecret", "KeycloakLongLivedClientSecret", "KeycloakAdminPassword",
                       "KeycloakMigrationSecret"), False),
    "userdata": (_gen("GroupIdEncryptionKey", "UserIdSalt", "UserPasswordSalt"), False),
    "mongo": ({"Scheme": "mongodb", "Addresses": "mongodb", "Username": "", "Password": "",
               "Database": "admin", "Tls": "false", "OptParams": ""}, False),
    "kafka": ({"Password": ""}, False),
    "token-signing-key": (_operator("private", "public"), True),
    "care-partner-alerts": (_operator("APNSSigningKey"), True),
    "clinic": (_operator("RedoxVerificationToken", "XealthBearerToken", "XealthClientSecret"), True),
    "clinic-worker": (_operator("RedoxKeyId", "RedoxPrivateKey"), True),
    "abbott": (_operator("ClientId", "ClientSecret", "StateSalt", "PartnerId", "PartnerSecret"), True),
    "coastal": (_operator("apiKey", "baseUrl", "clientId", "clientSecret", "rcTypeId", "privateKeyData"), True),
    "customer-io": (_operator("AppAPIKey", "TrackAPIKey"), True),
    "dexcom": (_operator("ClientId", "ClientSecret", "StateSalt"), True),
    "kissmetrics": (_operator("APIKey", "Token", "UCSFAPIKey", "UCSFWhitelist"), True),
    "marketo": (_operator("ID", "Secret", "URL"), True),
    "oura": (_operator("ClientId", "ClientSecret", "StateSalt", "PartnerSecret", "JotformAPIKey", "ShopifyClientId",
                       "ShopifyClientSecret"), True),
    "palmtree": (_operator("baseUrl", "calId", "profileId", "tlsCertData", "tlsKeyData"), True),
    "twiist": (_operator("ClientID", "ClientSecret", "StateSalt"), True),
    "timescaledb-single-passwords": (_operator("postgres"), True),
}

SECRETS = {"0.1": SECRETS_0_1, "0.26": SECRETS_0_26}
IMAGES = {"0.1": IMAGES_0_1, "0.26": IMAGES_0_26}

_VERSION_RE = re.compile(r"(\d+)\.(\d+)\.\d+")


def _last_version(text: str) -> str:
    return [m.group(0) for m in _VERSION_RE.finditer(text)][-1]


def server_side_apply(chart: dict) -> bool:
    """Whether the chart's objects may be applied server-side (Helm 4's default, so helm-controller's). Not for
    chart 0.26.0: its auth Deployment lists the env ``TIDEPOOL_AUTH_SERVICE_SECRET`` twice
    (``charts/auth/templates/1-deployment.yaml``), which server-side apply refuses ("duplicate entries for key") and
    a client-side create accepts, as Helm 3 did. Raises ValueError as :func:`generation`."""
    return generation(chart) == "0.1"


def generation(chart: dict) -> str:
    """``"0.1"`` for a chart of version 0.1.x, ``"0.26"`` for any later one; raises ValueError (naming the chart)
    when the version cannot be told (a chart override without ``version`` and no ``X.Y.Z`` in path or ref)."""
    version = None
    for field in ("version", "path", "ref"):
        if _VERSION_RE.search(str(chart.get(field) or "")):
            version = _last_version(str(chart[field]))
            break
    if version is None:
        raise ValueError(f"the Tidepool chart {dict(chart)!r} names no version: set chart.version (for example "
                         "0.26.0)")
    major, minor = (int(x) for x in version.split(".")[:2])
    return "0.1" if (major, minor) < (0, 2) else "0.26"


def merge_source(default: dict, override: dict | None) -> dict:
    """``default`` with an operator's ``chart`` override: an override naming a Helm ``repository`` replaces the
    default's git source (``git``, ``path``, ``ref``) and one naming ``git`` replaces its ``repository``; other keys
    are merged (``{"ref": "v2"}`` keeps the default's git URL and path). An override of the git source
    (``git``, ``path`` or ``ref``) without a ``version`` drops the default's ``version``: the chart's version is then
    read from its path or ref (:func:`generation`); one naming only a ``repository`` keeps the chart's name and
    version (the same chart from another Helm repository)."""
    out = dict(default)
    override = dict(override or {})
    if "version" not in override and set(override) & {"git", "path", "ref"}:
        out.pop("version", None)
    if "repository" in override:
        for key in ("git", "path", "ref"):
            out.pop(key, None)
    if "git" in override:
        out.pop("repository", None)
    out.update({k: v for k, v in override.items() if v is not None})
    return out
