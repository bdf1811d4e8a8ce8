# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Tiller TLS: the Tiller CA, the Tiller server certificate and the Helm client certificates.

Pure-Python core of the ``tidepool.eks.helm_tls_cert`` module (it replaces the CA step of the
install guide's ``make_flux`` and ``make_cert``). The shape is plan -> diff -> apply:

* :func:`build_plan` reads the CA from its store (AWS Secrets Manager or a directory) and the
  certificate files on disk, and decides what must happen: create the CA (never replace one),
  issue or keep each certificate, write or keep each file. It changes nothing.
* :meth:`Plan.diff` gives before/after *metadata* (subject, SANs, issuer, expiry, serial,
  fingerprints, file modes), never key material.
* :func:`apply_plan` carries the plan out: creates the CA if planned, issues certificates with the
  ``cryptography`` library and writes files atomically (keys ``0600``, certificates ``0644``).

A certificate is re-issued only when it is missing, unreadable, does not match its key, was not
signed by the current CA, names the wrong subject/SANs/key size, or expires within
``renew_before_days`` (and a new one would expire later), or when ``force_renew`` is set.
The CA private key is never written next to the Helm client files (make_cert did not keep it).
"""
from __future__ import annotations

import datetime
import os
import stat
import tempfile

try:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    HAS_CRYPTOGRAPHY = True
    CRYPTOGRAPHY_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - reported by the module shell
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_IMPORT_ERROR = exc

from ansible_collections.tidepool.eks.plugins.module_utils.aws import connection as aws
from ansible_collections.tidepool.eks.plugins.module_utils.common import naming

CLIENT = "client"
SERVER = "server"
KINDS = (CLIENT, SERVER)

#: CN of the Helm client certificate (make_cert's CSR).
CLIENT_CN = "helm-client"
#: Service name of Tiller; its TLS host is ``tiller-deploy.<namespace>`` (eksctl install flux).
TILLER_SERVICE = "tiller-deploy"

DEFAULT_KEY_SIZE = 4096
DEFAULT_VALIDITY_DAYS = 1825       # cfssl profile of make_cert: 43800h
DEFAULT_CA_VALIDITY_DAYS = 3650
DEFAULT_RENEW_BEFORE_DAYS = 30
#: Backdate notBefore a little so that a client with a slightly late clock accepts a fresh cert.
BACKDATE = datetime.timedelta(minutes=5)

CERT_MODE = 0o644
KEY_MODE = 0o600
DIR_MODE = 0o700

#: File names in every destination directory (Helm 2's default TLS file names).
CA_FILE, CERT_FILE, KEY_FILE = "ca.pem", "cert.pem", "key.pem"
#: File names of the CA in a ``ca_source: files`` directory (as eksctl's PKI directory has them).
CA_KEY_FILE = "ca-key.pem"


class HelmTLSError(Exception):
    """An error the module reports as one sentence (no traceback)."""


# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------

def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def _not_after(cert) -> datetime.datetime:
    return cert.not_valid_after_utc


def _to_bytes(value) -> bytes:
    if value is None:
        return b""
    if isinstance(value, bytes):
        return value
    return value.encode("utf-8")


def cert_pem(cert) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def key_pem(key) -> bytes:
    # PKCS#1 (PEM label "RSA PRIVATE KEY"), as cfssl and eksctl wrote Tiller/Helm keys.
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())


def generate_key(key_size: int):
    return rsa.generate_private_key(public_exponent=65537, key_size=key_size)


def load_cert(data):
    """Parse a PEM certificate; ``None`` when the data is empty or not a certificate."""
    data = _to_bytes(data)
    if not data.strip():
        return None
    try:
        return x509.load_pem_x509_certificate(data)
    except ValueError:
        return None


def load_key(data):
    """Parse an unencrypted PEM private key; ``None`` when empty, encrypted or not a key."""
    data = _to_bytes(data)
    if not data.strip():
        return None
    try:
        return serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        return None


def _public_der(public_key) -> bytes:
    return public_key.public_bytes(serialization.Encoding.DER,
                                   serialization.PublicFormat.SubjectPublicKeyInfo)


def key_matches_cert(key, cert) -> bool:
    return _public_der(key.public_key()) == _public_der(cert.public_key())


def fingerprint(cert) -> str:
    digest = cert.fingerprint(hashes.SHA256()).hex().upper()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def sans_of(cert) -> list:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    out = []
    for name in ext.value:
        if isinstance(name, x509.DNSName):
            out.append(f"DNS:{name.value}")
        elif isinstance(name, x509.IPAddress):
            out.append(f"IP:{name.value}")
        else:
            out.append(str(name.value))
    return out


def common_name(cert) -> str | None:
    attrs = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return attrs[0].value if attrs else None


def describe_cert(cert) -> dict:
    """Public metadata of a certificate (what results and diffs show)."""
    return {
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "sans": sans_of(cert),
        "not_before": cert.not_valid_before_utc.isoformat(),
        "not_after": _not_after(cert).isoformat(),
        "serial": format(cert.serial_number, "x"),
        "sha256_fingerprint": fingerprint(cert),
        "key_size": getattr(cert.public_key(), "key_size", None),
    }


def signed_by(cert, ca_cert) -> bool:
    """True when ``cert`` names ``ca_cert`` as issuer and its signature verifies with the CA key."""
    try:
        cert.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def file_state(path: str) -> dict:
    """``{"exists": bool, "mode": "0600" | None, "content": bytes | None}`` of a regular file."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return {"exists": False, "mode": None, "content": None}
    if not stat.S_ISREG(st.st_mode):
        raise HelmTLSError(f"{path} exists and is not a regular file; move it away and run again.")
    with open(path, "rb") as handle:
        content = handle.read()
    return {"exists": True, "mode": "%04o" % stat.S_IMODE(st.st_mode), "content": content}


def write_atomic(path: str, content: bytes, mode: int) -> None:
    """Write ``content`` to ``path`` through a temporary file in the same directory, born with ``mode``."""
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, mode=DIR_MODE, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def set_mode(path: str, mode: int) -> None:
    os.chmod(path, mode)


# ---------------------------------------------------------------------------------------------
# CA stores
# ---------------------------------------------------------------------------------------------

class FileCAStore:
    """The CA as two PEM files in a directory: ``ca.pem`` and ``ca-key.pem`` (eksctl's PKI layout)."""

    source = "files"

    def __init__(self, directory: str):
        self.directory = os.path.abspath(os.path.expanduser(directory))
        self.cert_ref = os.path.join(self.directory, CA_FILE)
        self.key_ref = os.path.join(self.directory, CA_KEY_FILE)

    def load(self):
        cert = file_state(self.cert_ref)
        key = file_state(self.key_ref)
        if not cert["exists"] and not key["exists"]:
            return None
        if not (cert["exists"] and key["exists"]):
            present, missing = (self.cert_ref, self.key_ref) if cert["exists"] else (self.key_ref, self.cert_ref)
            raise HelmTLSError(
                f"The Tiller CA is incomplete: {present} exists but {missing} does not; restore the missing "
                f"file or remove both to create a new CA.")
        return cert["content"], key["content"]

    def save(self, cert_data: bytes, key_data: bytes) -> None:
        if os.path.exists(self.cert_ref) or os.path.exists(self.key_ref):
            raise HelmTLSError(f"Refusing to overwrite the Tiller CA in {self.directory}.")
        write_atomic(self.key_ref, key_data, KEY_MODE)
        write_atomic(self.cert_ref, cert_data, CERT_MODE)


class SecretsManagerCAStore:
    """The CA in AWS Secrets Manager as raw PEM strings ``<cluster>/flux/ca.pem`` and ``ca-key.pem``.

    An existing CA secret is never overwritten: create-only.
    """

    source = "secretsmanager"

    def __init__(self, client, cluster: str, kms_key_id: str | None = None, tags: dict | None = None):
        self.client = client
        self.cluster = cluster
        self.kms_key_id = kms_key_id
        self.tags = tags or {}
        self.cert_ref, self.key_ref = naming.tiller_ca_ids(cluster)

    @staticmethod
    def _code(exc) -> str:
        return aws.error_code(exc) or getattr(exc, "response", {}).get("Error", {}).get("Code", "")

    def _get(self, secret_id: str):
        try:
            resp = self.client.get_secret_value(SecretId=secret_id)
        except Exception as exc:  # botocore ClientError; botocore is optional for the unit tests
            code = self._code(exc)
            if code == "ResourceNotFoundException":
                return None
            if code == "InvalidRequestException":
                raise HelmTLSError(
                    f"Secrets Manager secret {secret_id} cannot be read (it is probably scheduled for deletion); "
                    f"restore it with `aws secretsmanager restore-secret --secret-id {secret_id}` and run again.")
            raise HelmTLSError(str(aws.describe_error(exc, "secretsmanager.GetSecretValue", secret_id))) from None
        if "SecretString" in resp:
            return resp["SecretString"].encode("utf-8")
        return resp.get("SecretBinary")

    def load(self):
        cert = self._get(self.cert_ref)
        key = self._get(self.key_ref)
        if cert is None and key is None:
            return None
        if cert is None or key is None:
            present, missing = (self.cert_ref, self.key_ref) if cert is not None else (self.key_ref, self.cert_ref)
            raise HelmTLSError(
                f"The Tiller CA is incomplete: Secrets Manager has {present} but not {missing}; restore the "
                f"missing secret, or delete {present} (force, without recovery) to create a new CA.")
        return cert, key

    def _create(self, name: str, value: bytes, what: str) -> None:
        kwargs = {
            "Name": name,
            "SecretString": value.decode("utf-8"),
            "Description": f"Tiller CA {what} of cluster {self.cluster} (PEM; tidepool.eks helm_tls_cert)",
        }
        if self.kms_key_id:
            kwargs["KmsKeyId"] = self.kms_key_id
        if self.tags:
            kwargs["Tags"] = [{"Key": k, "Value": str(v)} for k, v in sorted(self.tags.items())]
        try:
            self.client.create_secret(**kwargs)
        except Exception as exc:
            code = self._code(exc)
            if code == "ResourceExistsException":
                raise HelmTLSError(f"Secrets Manager secret {name} appeared while creating the Tiller CA "
                                   f"(another run?); run again to reuse it.")
            raise HelmTLSError(str(aws.describe_error(exc, "secretsmanager.CreateSecret", name))) from None

    def save(self, cert_data: bytes, key_data: bytes) -> None:
        self._create(self.key_ref, key_data, "private key")
        try:
            self._create(self.cert_ref, cert_data, "certificate")
        except Exception:
            # Do not leave half a CA behind: the next run would refuse to go on.
            try:
                self.client.delete_secret(SecretId=self.key_ref, ForceDeleteWithoutRecovery=True)
            except Exception:  # pragma: no cover - best effort
                pass
            raise


# ---------------------------------------------------------------------------------------------
# Issuing
# ---------------------------------------------------------------------------------------------

def make_ca(cluster: str, key_size: int, validity_days: int, now=None):
    """A self-signed CA (basicConstraints CA:TRUE, pathlen 0). Returns ``(cert, key)``."""
    now = now or utcnow()
    key = generate_key(key_size)
    name = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "tidepool.eks"),
        x509.NameAttribute(NameOID.COMMON_NAME, f"tiller-ca.{cluster}"),
    ])
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + datetime.timedelta(days=validity_days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def issue_leaf(spec: dict, ca_cert, ca_key, key_size: int, validity_days: int, now=None):
    """A leaf certificate as cfssl's make_cert profile made it: signing, key encipherment,
    server auth, client auth. Its notAfter never passes the CA's. Returns ``(cert, key)``."""
    now = now or utcnow()
    key = generate_key(key_size)
    not_after = min(now + datetime.timedelta(days=validity_days), _not_after(ca_cert))
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, spec["cn"])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=True,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                       critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    try:
        aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
            ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value)
    except x509.ExtensionNotFound:
        aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key())
    builder = builder.add_extension(aki, critical=False)
    if spec["sans"]:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(s[len("DNS:"):]) for s in spec["sans"]]), critical=False)
    return builder.sign(ca_key, hashes.SHA256()), key


# ---------------------------------------------------------------------------------------------
# Plan
# ---------------------------------------------------------------------------------------------

def default_helm_home() -> str:
    return os.environ.get("HELM_HOME") or os.path.join(os.path.expanduser("~"), ".helm")


def normalize_params(params: dict) -> dict:
    """Fill defaults and validate the combination of options; raises HelmTLSError."""
    p = dict(params)
    cluster = p.get("cluster") or ""
    if not naming.CLUSTER_NAME_RE.match(cluster):
        raise HelmTLSError(f"cluster {cluster!r} is not a valid cluster name (a letter, then letters, digits, hyphens).")
    p.setdefault("ca_source", "secretsmanager")
    p["helm_home"] = os.path.abspath(os.path.expanduser(p.get("helm_home") or default_helm_home()))
    p["tiller_namespace"] = p.get("tiller_namespace") or naming.FLUX_NAMESPACE
    if not naming.DNS_LABEL_RE.match(p["tiller_namespace"]):
        raise HelmTLSError(f"tiller_namespace {p['tiller_namespace']!r} is not a valid Kubernetes namespace name.")
    issue = p.get("issue")
    p["issue"] = list(issue) if issue is not None else [CLIENT]
    for kind in p["issue"]:
        if kind not in KINDS:
            raise HelmTLSError(f"issue may only contain {', '.join(KINDS)}; got {kind!r}.")
    for key, default in (("validity_days", DEFAULT_VALIDITY_DAYS), ("ca_validity_days", DEFAULT_CA_VALIDITY_DAYS),
                         ("renew_before_days", DEFAULT_RENEW_BEFORE_DAYS), ("key_size", DEFAULT_KEY_SIZE)):
        if p.get(key) is None:
            p[key] = default
    if p["validity_days"] < 1 or p["ca_validity_days"] < 1:
        raise HelmTLSError("validity_days and ca_validity_days must be at least 1.")
    if p["renew_before_days"] < 0:
        raise HelmTLSError("renew_before_days must not be negative.")
    if p["key_size"] < 2048:
        raise HelmTLSError("key_size must be at least 2048 (Tiller and Helm use RSA 4096 by default).")
    p.setdefault("copy_to_helm_home", True)
    p.setdefault("create_ca", True)
    p.setdefault("force_renew", False)
    if p["ca_source"] == "files":
        if not p.get("ca_path"):
            raise HelmTLSError("ca_path is required when ca_source is files (a directory holding ca.pem and ca-key.pem).")
        p["ca_path"] = os.path.abspath(os.path.expanduser(p["ca_path"]))
    elif p["ca_source"] != "secretsmanager":
        raise HelmTLSError(f"ca_source must be secretsmanager or files; got {p['ca_source']!r}.")
    client_dir = naming.helm_client_dir(p["helm_home"], cluster)
    if SERVER in p["issue"]:
        if not p.get("server_dest"):
            raise HelmTLSError("server_dest is required when issue contains server (a directory for the Tiller "
                               "server ca.pem, cert.pem and key.pem).")
        p["server_dest"] = os.path.abspath(os.path.expanduser(p["server_dest"]))
        if p["server_dest"] in (client_dir, p["helm_home"]):
            raise HelmTLSError("server_dest must differ from the Helm client directories.")
    if p["ca_source"] == "files" and p["ca_path"] in (client_dir, p["helm_home"], p.get("server_dest")):
        raise HelmTLSError("ca_path must not be a directory the certificates are written to "
                           "(the CA private key is not kept there).")
    return p


def leaf_specs(p: dict) -> dict:
    """What each requested certificate must look like and where it goes."""
    host = f"{TILLER_SERVICE}.{p['tiller_namespace']}"
    specs = {}
    if CLIENT in p["issue"]:
        primary = naming.helm_client_dir(p["helm_home"], p["cluster"])
        dirs = [primary] + ([p["helm_home"]] if p["copy_to_helm_home"] else [])
        # make_cert: CN helm-client, hostname tiller-deploy.<ns> (cfssl -hostname), so the same SAN.
        specs[CLIENT] = {"cn": CLIENT_CN, "sans": [f"DNS:{host}"], "dirs": dirs}
    if SERVER in p["issue"]:
        specs[SERVER] = {"cn": host, "sans": [f"DNS:{host}"], "dirs": [p["server_dest"]]}
    return specs


def _paths(directory: str) -> dict:
    return {"ca": os.path.join(directory, CA_FILE), "cert": os.path.join(directory, CERT_FILE),
            "key": os.path.join(directory, KEY_FILE)}


def leaf_reasons(spec: dict, cert, key, ca_cert, p: dict, now) -> list:
    """Why the certificate in the primary directory must be (re-)issued; empty when it is fine."""
    if cert is None:
        return ["certificate missing or unreadable"]
    if key is None:
        return ["private key missing or unreadable"]
    reasons = []
    if not key_matches_cert(key, cert):
        reasons.append("private key does not match the certificate")
    if ca_cert is None or not signed_by(cert, ca_cert):
        reasons.append("certificate not signed by the current CA")
    if common_name(cert) != spec["cn"]:
        reasons.append(f"subject CN is {common_name(cert)!r}, want {spec['cn']!r}")
    if sorted(sans_of(cert)) != sorted(spec["sans"]):
        reasons.append(f"SANs are {sans_of(cert)}, want {spec['sans']}")
    if getattr(cert.public_key(), "key_size", None) != p["key_size"]:
        reasons.append(f"key size is {getattr(cert.public_key(), 'key_size', None)}, want {p['key_size']}")
    horizon = now + datetime.timedelta(days=p["renew_before_days"])
    if _not_after(cert) <= now:
        reasons.append("certificate expired")
    elif _not_after(cert) <= horizon and (ca_cert is None or _not_after(cert) < _not_after(ca_cert)):
        reasons.append(f"certificate expires {_not_after(cert).date().isoformat()}, within renew_before_days "
                       f"({p['renew_before_days']})")
    if p["force_renew"] and not reasons:
        reasons.append("force_renew")
    return reasons


class Plan:
    """What :func:`apply_plan` will do. Holds parsed objects; only :meth:`result` / :meth:`diff` leave it."""

    def __init__(self, params, store):
        self.params = params
        self.store = store
        self.ca_action = None          # "create" | "reuse"
        self.ca_cert = None
        self.ca_key = None
        self.leaves = {}               # kind -> {"spec", "reasons", "cert", "key", "files": [...]}
        self.warnings = []

    @property
    def changed(self) -> bool:
        if self.ca_action == "create":
            return True
        return any(f["action"] != "keep" for leaf in self.leaves.values() for f in leaf["files"])

    def ca_info(self) -> dict:
        info = {"source": self.store.source, "cert": self.store.cert_ref, "key": self.store.key_ref,
                "created": self.ca_action == "create"}
        if self.ca_cert is not None:
            info.update(describe_cert(self.ca_cert))
        return info

    def diff(self) -> dict:
        before, after = {"ca": None, "certificates": {}, "files": {}}, {"ca": None, "certificates": {}, "files": {}}
        if self.ca_action == "reuse":
            before["ca"] = after["ca"] = describe_cert(self.ca_cert)
        elif self.ca_cert is not None:       # created during apply
            after["ca"] = describe_cert(self.ca_cert)
        else:
            after["ca"] = {"subject": f"O=tidepool.eks,CN=tiller-ca.{self.params['cluster']}", "state": "to be created"}
        for kind, leaf in self.leaves.items():
            before["certificates"][kind] = leaf.get("before")
            if leaf.get("issued") is not None:
                after["certificates"][kind] = describe_cert(leaf["issued"])
            elif leaf["reasons"]:
                after["certificates"][kind] = {
                    "subject": f"CN={leaf['spec']['cn']}", "sans": leaf["spec"]["sans"],
                    "issuer": self.ca_cert.subject.rfc4514_string() if self.ca_cert is not None else "(new CA)",
                    "state": "to be issued: " + "; ".join(leaf["reasons"])}
            else:
                after["certificates"][kind] = leaf.get("before")
            for f in leaf["files"]:
                before["files"][f["path"]] = {"mode": f["before_mode"]} if f["before_exists"] else None
                after["files"][f["path"]] = {"mode": "%04o" % f["mode"]}
        return {"before": before, "after": after}

    def result(self) -> dict:
        certs = {}
        for kind, leaf in self.leaves.items():
            issued = leaf.get("issued")
            current = describe_cert(issued) if issued is not None else leaf.get("before")
            paths = _paths(leaf["spec"]["dirs"][0])
            entry = {"issued": bool(leaf["reasons"]), "reasons": leaf["reasons"],
                     "cert_path": paths["cert"], "key_path": paths["key"], "ca_path": paths["ca"],
                     "copies": [_paths(d) for d in leaf["spec"]["dirs"][1:]]}
            if current:
                entry.update(current)
            certs[kind] = entry
        files = [{"path": f["path"], "mode": "%04o" % f["mode"], "action": f["action"]}
                 for leaf in self.leaves.values() for f in leaf["files"]]
        return {"changed": self.changed, "ca": self.ca_info(), "certificates": certs, "files": files}


def _file_entry(path, mode, want_content, state):
    """Decide create/update/chmod/keep for one file. ``want_content`` None means "new content"."""
    if not state["exists"]:
        action = "create"
    elif want_content is None or state["content"] != want_content:
        action = "update"
    elif state["mode"] != "%04o" % mode:
        action = "chmod"
    else:
        action = "keep"
    return {"path": path, "mode": mode, "action": action, "before_exists": state["exists"],
            "before_mode": state["mode"]}


def build_plan(params: dict, store, now=None) -> Plan:
    """Observe the CA store and the files and decide what to do. Changes nothing."""
    now = now or utcnow()
    p = params
    plan = Plan(p, store)

    loaded = store.load()
    if loaded is None:
        if not p["create_ca"]:
            raise HelmTLSError(
                f"No Tiller CA for cluster {p['cluster']} at {store.cert_ref} and {store.key_ref}, and create_ca "
                f"is false; run the flux step first (it creates the CA) or set create_ca: true.")
        plan.ca_action = "create"
    else:
        cert_data, key_data = loaded
        ca_cert, ca_key = load_cert(cert_data), load_key(key_data)
        if ca_cert is None:
            raise HelmTLSError(f"The Tiller CA certificate at {store.cert_ref} is not a PEM certificate; fix or "
                               f"remove it (a stored CA is never replaced automatically).")
        if ca_key is None:
            raise HelmTLSError(f"The Tiller CA key at {store.key_ref} is not an unencrypted PEM private key; fix or "
                               f"remove it (a stored CA is never replaced automatically).")
        if not key_matches_cert(ca_key, ca_cert):
            raise HelmTLSError(f"The Tiller CA key at {store.key_ref} does not belong to the certificate at "
                               f"{store.cert_ref}; restore the matching pair.")
        if _not_after(ca_cert) <= now:
            raise HelmTLSError(
                f"The Tiller CA at {store.cert_ref} expired on {_not_after(ca_cert).date().isoformat()}; rotating "
                f"it is a deliberate step: remove the stored CA, run again, then redeploy Tiller.")
        if _not_after(ca_cert) <= now + datetime.timedelta(days=p["renew_before_days"]):
            plan.warnings.append(
                f"The Tiller CA at {store.cert_ref} expires on {_not_after(ca_cert).date().isoformat()}; "
                f"certificates cannot outlive it. Plan a CA rotation.")
        plan.ca_action = "reuse"
        plan.ca_cert, plan.ca_key = ca_cert, ca_key

    ca_content = cert_pem(plan.ca_cert) if plan.ca_cert is not None else None
    for kind, spec in leaf_specs(p).items():
        states = {d: {name: file_state(path) for name, path in _paths(d).items()} for d in spec["dirs"]}
        pstate = states[spec["dirs"][0]]
        cert = load_cert(pstate["cert"]["content"])
        key = load_key(pstate["key"]["content"])
        reasons = leaf_reasons(spec, cert, key, plan.ca_cert, p, now)
        leaf = {"spec": spec, "reasons": reasons, "cert": cert, "key": key,
                "before": describe_cert(cert) if cert is not None else None, "files": []}
        new = bool(reasons)
        # The primary directory and its copies get the same content: new files when (re-)issuing,
        # otherwise the primary directory's current files.
        want_cert = None if new else pstate["cert"]["content"]
        want_key = None if new else pstate["key"]["content"]
        for d in spec["dirs"]:
            paths, st = _paths(d), states[d]
            leaf["files"].append(_file_entry(paths["ca"], CERT_MODE, ca_content, st["ca"]))
            leaf["files"].append(_file_entry(paths["cert"], CERT_MODE, want_cert, st["cert"]))
            leaf["files"].append(_file_entry(paths["key"], KEY_MODE, want_key, st["key"]))
        plan.leaves[kind] = leaf
    return plan


def apply_plan(plan: Plan, now=None) -> dict:
    """Carry the plan out and return the module result (metadata only)."""
    p = plan.params
    now = now or utcnow()
    if plan.ca_action == "create":
        plan.ca_cert, plan.ca_key = make_ca(p["cluster"], p["key_size"], p["ca_validity_days"], now)
        plan.store.save(cert_pem(plan.ca_cert), key_pem(plan.ca_key))
    ca_content = cert_pem(plan.ca_cert)
    for kind, leaf in plan.leaves.items():
        if leaf["reasons"]:
            cert, key = issue_leaf(leaf["spec"], plan.ca_cert, plan.ca_key, p["key_size"], p["validity_days"], now)
            leaf["issued"] = cert
            contents = {"ca": ca_content, "cert": cert_pem(cert), "key": key_pem(key)}
        else:
            contents = {"ca": ca_content, "cert": cert_pem(leaf["cert"]), "key": None}
            # keep the key bytes exactly as they are on disk in the primary directory
            with open(_paths(leaf["spec"]["dirs"][0])["key"], "rb") as handle:
                contents["key"] = handle.read()
        for f in leaf["files"]:
            name = {CA_FILE: "ca", CERT_FILE: "cert", KEY_FILE: "key"}[os.path.basename(f["path"])]
            if f["action"] in ("create", "update"):
                write_atomic(f["path"], contents[name], f["mode"])
            elif f["action"] == "chmod":
                set_mode(f["path"], f["mode"])
    return plan.result()
