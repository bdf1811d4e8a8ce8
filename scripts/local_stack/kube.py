"""Kubernetes part of the local stack, started the way controller-runtime's envtest does it:
etcd on loopback, kube-apiserver with a serving certificate from its own CA, client-certificate
authentication (admin = O=system:masters), RBAC, service-account key pair; plus kube-controller-manager
(namespace deletion, garbage collection, service accounts, and the workload controllers the simulated nodes of
nodes.py need). No kubelet: kube-scheduler and kwok (nodes.py) play the nodes."""
from __future__ import annotations

import copy
import datetime
import ipaddress
import json
import ssl
import time
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .common import HOST, StackError, http_ok, wait_for

#: Cluster IPs of Services: a /16, room for 20 environments of the Tidepool chart (about 25 Services each) and the
#: shared services; a /24 ran out at about 12 environments ("failed to allocate a serviceIP ...: range is full").
SERVICE_CIDR = "10.0.0.0/16"
#: the ServiceCIDR object (networking.k8s.io/v1) that widens a stack whose etcd was made with an older, smaller range:
#: the API server's default ServiceCIDR "kubernetes" keeps the range of its first start (its spec is immutable)
EXTRA_SERVICE_CIDR = "local-stack"
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: 10x faster on the big CRD files
HASH_ANNOTATION = "local-stack.tidepool.eks/source-sha256"
CONTEXT = "tidepool-local"
# The workload controllers (deployment ... job) turn what charts install into pods the scheduler binds to the
# simulated nodes; node-lifecycle removes the node.kubernetes.io/not-ready taint once kwok reports a Node Ready.
#: The client rate of kube-controller-manager and kube-scheduler: the values kwok's own simulated clusters use
#: (`kwokctl create cluster --disable-qps-limits`; sigs.k8s.io/kwok pkg/consts DefaultUnlimitedQPS / Burst). The
#: defaults (kcm 20 requests a second, burst 30; the scheduler 50 / 100) were the platform's critical path with many
#: environments: every Deployment's ReplicaSet, pods and status updates queued in kcm's client, not in the API server
#: (benchmarks/README.md, "20 environments with the platform").
CLIENT_RATE_FLAGS = ("--kube-api-qps=5000", "--kube-api-burst=10000")
KCM_CONTROLLERS = ",".join(c + "-controller" for c in (
    "namespace", "garbage-collector", "serviceaccount", "serviceaccount-token", "root-ca-certificate-publisher",
    "deployment", "replicaset", "statefulset", "daemonset", "job", "node-lifecycle"))


# ------------------------------------------------------------------------------------------ PKI
def new_key():
    """A new P-256 private key."""
    return ec.generate_private_key(ec.SECP256R1())


def key_pem(key) -> bytes:
    """``key`` as unencrypted PKCS#8 PEM."""
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def issue_cert(subject_cn: str, key, *, issuer=None, issuer_key=None, ca=False, orgs=(), server=False,
               client=False, sans=()) -> x509.Certificate:
    """A certificate for ``subject_cn`` (organisations ``orgs``), valid from five minutes ago for ten years,
    signed by ``issuer``/``issuer_key`` (self-signed without them); ``ca``, ``server`` and ``client`` set the
    key usages, ``sans`` the subject alternative names (IP addresses or DNS names)."""
    now = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5)
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in orgs]
    name = x509.Name(attrs + [x509.NameAttribute(NameOID.COMMON_NAME, subject_cn)])
    builder = (x509.CertificateBuilder().subject_name(name)
               .issuer_name(issuer.subject if issuer else name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=3650))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False),
                                        critical=True)
    else:
        builder = builder.add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False),
                                        critical=True)
        usages = ([ExtendedKeyUsageOID.SERVER_AUTH] if server else []) + \
                 ([ExtendedKeyUsageOID.CLIENT_AUTH] if client else [])
        builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
    if sans:
        entries = []
        for san in sans:
            try:
                entries.append(x509.IPAddress(ipaddress.ip_address(san)))
            except ValueError:
                entries.append(x509.DNSName(san))
        builder = builder.add_extension(x509.SubjectAlternativeName(entries), critical=False)
    return builder.sign(issuer_key or key, hashes.SHA256())


def _write(path: Path, data: bytes, private=False) -> None:
    path.write_bytes(data)
    if private:
        path.chmod(0o600)


def ensure_pki(stack) -> dict[str, Path]:
    """Create (once) the CAs, the serving certificate, the service-account key pair and client certs."""
    d = stack.pki
    files = {n: d / n for n in (
        "ca.crt", "ca.key", "apiserver.crt", "apiserver.key", "client-ca.crt", "client-ca.key",
        "admin.crt", "admin.key", "kcm.crt", "kcm.key", "sa.key", "sa.pub")}
    if all(p.exists() for p in files.values()):
        return files
    d.mkdir(parents=True, exist_ok=True)
    pem = serialization.Encoding.PEM
    ca_key = new_key()
    ca = issue_cert("tidepool-local-ca", ca_key, ca=True)
    srv_key = new_key()
    srv = issue_cert("kube-apiserver", srv_key, issuer=ca, issuer_key=ca_key, server=True, sans=(
        HOST, "localhost", "10.0.0.1", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local"))
    cca_key = new_key()
    cca = issue_cert("tidepool-local-client-ca", cca_key, ca=True)
    adm_key = new_key()
    adm = issue_cert("tidepool-admin", adm_key, issuer=cca, issuer_key=cca_key, client=True, orgs=("system:masters",))
    kcm_key = new_key()
    kcm = issue_cert("system:kube-controller-manager", kcm_key, issuer=cca, issuer_key=cca_key, client=True)
    sa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for name, obj in (("ca", (ca, ca_key)), ("apiserver", (srv, srv_key)), ("client-ca", (cca, cca_key)),
                      ("admin", (adm, adm_key)), ("kcm", (kcm, kcm_key))):
        _write(d / f"{name}.crt", obj[0].public_bytes(pem))
        _write(d / f"{name}.key", key_pem(obj[1]), private=True)
    _write(d / "sa.key", key_pem(sa_key), private=True)
    _write(d / "sa.pub", sa_key.public_key().public_bytes(pem, serialization.PublicFormat.SubjectPublicKeyInfo))
    return files


def ensure_front_proxy(stack) -> None:
    """The aggregation layer's front-proxy CA and client (as kubeadm sets it up), created once."""
    d = stack.pki
    if all((d / n).exists() for n in ("front-proxy-ca.crt", "front-proxy-client.crt", "front-proxy-client.key")):
        return
    pem = serialization.Encoding.PEM
    ca_key = new_key()
    ca = issue_cert("front-proxy-ca", ca_key, ca=True)
    key = new_key()
    cert = issue_cert("front-proxy-client", key, issuer=ca, issuer_key=ca_key, client=True)
    _write(d / "front-proxy-ca.crt", ca.public_bytes(pem))
    _write(d / "front-proxy-client.crt", cert.public_bytes(pem))
    _write(d / "front-proxy-client.key", key_pem(key), private=True)


def ensure_client_cert(stack, name: str, user: str, orgs=()) -> Path:
    """A client certificate ``<pki>/<name>.{crt,key}`` for ``user`` from the client CA and a kubeconfig
    ``<pki>/<name>.kubeconfig`` with it, created once (after ensure_pki). Returns the kubeconfig's path."""
    d = stack.pki
    crt, key_path, kc = d / f"{name}.crt", d / f"{name}.key", d / f"{name}.kubeconfig"
    if not (crt.exists() and key_path.exists()):
        ca = x509.load_pem_x509_certificate((d / "client-ca.crt").read_bytes())
        ca_key = serialization.load_pem_private_key((d / "client-ca.key").read_bytes(), password=None)
        key = new_key()
        cert = issue_cert(user, key, issuer=ca, issuer_key=ca_key, client=True, orgs=orgs)
        _write(key_path, key_pem(key), private=True)
        _write(crt, cert.public_bytes(serialization.Encoding.PEM))
    data = yaml.safe_dump(kubeconfig_dict(stack, user, crt, key_path), sort_keys=False)
    if not kc.exists() or kc.read_text() != data:
        tmp = kc.with_suffix(".tmp")
        tmp.write_text(data)
        tmp.chmod(0o600)
        tmp.replace(kc)
    return kc


def kubeconfig_dict(stack, user: str, cert: Path, key: Path) -> dict:
    import base64
    b64 = lambda p: base64.b64encode(Path(p).read_bytes()).decode()  # noqa: E731
    return {
        "apiVersion": "v1", "kind": "Config", "preferences": {},
        "clusters": [{"name": CONTEXT, "cluster": {
            "server": stack.apiserver_url, "certificate-authority-data": b64(stack.pki / "ca.crt")}}],
        "users": [{"name": user, "user": {"client-certificate-data": b64(cert), "client-key-data": b64(key)}}],
        "contexts": [{"name": CONTEXT, "context": {"cluster": CONTEXT, "user": user, "namespace": "default"}}],
        "current-context": CONTEXT,
    }


def write_kubeconfigs(stack) -> None:
    for path, user, name in ((stack.kubeconfig, "tidepool-admin", "admin"),
                             (stack.pki / "kcm.kubeconfig", "kube-controller-manager", "kcm")):
        data = yaml.safe_dump(kubeconfig_dict(stack, user, stack.pki / f"{name}.crt", stack.pki / f"{name}.key"),
                              sort_keys=False)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(data)
        tmp.chmod(0o600)
        tmp.replace(path)


def ssl_context(stack, client=True) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(stack.pki / "ca.crt"))
    if client:
        ctx.load_cert_chain(str(stack.pki / "admin.crt"), str(stack.pki / "admin.key"))
    return ctx


# ------------------------------------------------------------------------------------------ servers
def _etcd_supports(binary: Path, flag: str) -> bool:
    import subprocess
    try:
        out = subprocess.run([str(binary), "--help"], capture_output=True, text=True, timeout=20)
    except OSError:
        return False
    return flag in out.stdout + out.stderr


def start_etcd(stack, timeout: float) -> None:
    etcd = stack.binaries()["etcd"]
    data = stack.etcd_data
    data.mkdir(parents=True, exist_ok=True)
    data.chmod(0o700)
    peer = f"http://{HOST}:{stack.ports['etcd-peer']}"
    argv = [str(etcd), "--name=local", f"--data-dir={data}",
            f"--listen-client-urls={stack.etcd_url}", f"--advertise-client-urls={stack.etcd_url}",
            f"--listen-peer-urls={peer}", f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster=local={peer}", "--log-level=warn"]
    if _etcd_supports(etcd, "--unsafe-no-fsync"):
        argv.append("--unsafe-no-fsync=true")
    pid = stack.spawn("etcd", argv)
    wait_for("etcd", lambda: http_ok(stack.etcd_url + "/health"), timeout, pid, stack.run / "etcd.log")


def apiserver_ready(stack) -> bool:
    if not (stack.pki / "ca.crt").exists():
        return False
    return http_ok(stack.apiserver_url + "/readyz", context=ssl_context(stack, client=False))


def start_apiserver(stack, timeout: float) -> None:
    ensure_pki(stack)
    ensure_front_proxy(stack)
    write_kubeconfigs(stack)
    p = stack.pki
    port = stack.ports["kube-apiserver"]
    argv = [str(stack.binaries()["kube-apiserver"]),
            f"--etcd-servers={stack.etcd_url}",
            f"--bind-address={HOST}", f"--advertise-address={HOST}", f"--secure-port={port}",
            f"--cert-dir={p}", f"--tls-cert-file={p / 'apiserver.crt'}", f"--tls-private-key-file={p / 'apiserver.key'}",
            f"--client-ca-file={p / 'client-ca.crt'}",
            f"--service-cluster-ip-range={SERVICE_CIDR}", "--allow-privileged=true",
            # envtest: no kubelet/pods, and the default service account may not exist yet when an object
            # referring to it arrives right after its namespace. No admission webhooks: the charts register theirs
            # (cert-manager, the External Secrets Operator, Gloo), but their pods are kwok's and serve nothing, and a
            # call would go to a Service's cluster IP, beyond 127.0.0.1 (the stack's ESO runs without its webhook).
            "--disable-admission-plugins=ServiceAccount,ValidatingAdmissionWebhook,MutatingAdmissionWebhook",
            "--authorization-mode=RBAC",
            f"--service-account-issuer=https://{HOST}:{port}/",
            f"--service-account-key-file={p / 'sa.pub'}",
            f"--service-account-signing-key-file={p / 'sa.key'}",
            "--endpoint-reconciler-type=none",
            # Aggregation layer (APIService objects, e.g. metrics-server's), as kubeadm configures it.
            f"--requestheader-client-ca-file={p / 'front-proxy-ca.crt'}",
            "--requestheader-allowed-names=front-proxy-client",
            "--requestheader-username-headers=X-Remote-User", "--requestheader-group-headers=X-Remote-Group",
            "--requestheader-extra-headers-prefix=X-Remote-Extra-",
            f"--proxy-client-cert-file={p / 'front-proxy-client.crt'}",
            f"--proxy-client-key-file={p / 'front-proxy-client.key'}",
            "--v=1"]
    pid = stack.spawn("kube-apiserver", argv)
    wait_for("kube-apiserver", lambda: apiserver_ready(stack), timeout, pid, stack.run / "kube-apiserver.log")
    ensure_service_cidr(stack, timeout)


def ensure_service_cidr(stack, timeout: float = 30.0) -> bool:
    """Make :data:`SERVICE_CIDR` allocatable on a stack whose etcd predates it: when the default ServiceCIDR
    ``kubernetes`` has other CIDRs, create the ServiceCIDR :data:`EXTRA_SERVICE_CIDR` with it (overlapping ranges are
    allowed; the allocator uses both). Returns whether it created one. Raises StackError when the API server does
    not answer within ``timeout`` seconds (it may still be writing the default object right after /readyz)."""
    from kubernetes import client, config
    from kubernetes.client.rest import ApiException
    api = client.NetworkingV1Api(config.new_client_from_config(config_file=str(stack.kubeconfig)))
    deadline = time.monotonic() + timeout
    while True:
        try:
            default = api.read_service_cidr("kubernetes")
            break
        except ApiException as exc:
            if exc.status != 404 or time.monotonic() > deadline:
                raise StackError(f"ServiceCIDR kubernetes: {exc.status} {exc.reason} (after {timeout:.0f}s)") from exc
            time.sleep(0.3)
    if SERVICE_CIDR in (default.spec.cidrs or []):
        return False
    try:
        api.create_service_cidr(client.V1ServiceCIDR(
            metadata=client.V1ObjectMeta(name=EXTRA_SERVICE_CIDR),
            spec=client.V1ServiceCIDRSpec(cidrs=[SERVICE_CIDR])))
    except ApiException as exc:
        if exc.status != 409:  # already there: an earlier start made it
            raise StackError(f"ServiceCIDR {EXTRA_SERVICE_CIDR}: {exc.status} {exc.reason}: {exc.body}") from exc
        return False
    return True


def kcm_ready(stack) -> bool:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # KCM serves a self-signed in-memory certificate on loopback
    return http_ok(f"https://{HOST}:{stack.ports['kube-controller-manager']}/healthz", context=ctx)


def start_kcm(stack, timeout: float) -> None:
    ensure_pki(stack)
    write_kubeconfigs(stack)
    p = stack.pki
    kc = p / "kcm.kubeconfig"
    argv = [str(stack.binaries()["kube-controller-manager"]),
            f"--kubeconfig={kc}", f"--authentication-kubeconfig={kc}", f"--authorization-kubeconfig={kc}",
            f"--bind-address={HOST}", f"--secure-port={stack.ports['kube-controller-manager']}",
            f"--cert-dir={stack.state / 'kcm-certs'}",
            "--leader-elect=false", f"--controllers={KCM_CONTROLLERS}", *CLIENT_RATE_FLAGS,
            f"--root-ca-file={p / 'ca.crt'}", f"--service-account-private-key-file={p / 'sa.key'}",
            "--use-service-account-credentials=true", "--v=1"]
    pid = stack.spawn("kube-controller-manager", argv)
    wait_for("kube-controller-manager", lambda: kcm_ready(stack), timeout, pid,
             stack.run / "kube-controller-manager.log")


# ------------------------------------------------------------------------------------------ CRDs
def _structural(node, root=False):
    """Make a v1beta1 (possibly non-structural) schema node acceptable to apiextensions.k8s.io/v1,
    keeping v1beta1's semantics: validate what is specified, prune nothing."""
    if not isinstance(node, dict):
        return node
    node = dict(node)
    for junctor in ("allOf", "anyOf", "oneOf", "not"):
        if junctor in node:  # value validations only; types/descriptions are not allowed inside them
            items = node[junctor] if isinstance(node[junctor], list) else [node[junctor]]
            cleaned = [{k: v for k, v in _strip_junctor(i).items()} for i in items]
            node[junctor] = cleaned if isinstance(node[junctor], list) else cleaned[0]
    if "properties" in node:
        node.setdefault("type", "object")
        node["properties"] = {k: _structural(v) for k, v in node["properties"].items()}
        node.pop("additionalProperties", None)
        node["x-kubernetes-preserve-unknown-fields"] = True
    elif "additionalProperties" in node and isinstance(node["additionalProperties"], dict):
        node.setdefault("type", "object")
        node["additionalProperties"] = _structural(node["additionalProperties"])
    if "items" in node:
        node.setdefault("type", "array")
        if isinstance(node["items"], list):  # tuple validation is not allowed in v1
            node["items"] = {"x-kubernetes-preserve-unknown-fields": True}
        else:
            node["items"] = _structural(node["items"])
    node.pop("uniqueItems", None)
    if "type" not in node and not node.get("x-kubernetes-int-or-string"):
        node["x-kubernetes-preserve-unknown-fields"] = True
    if node.get("type") == "object" and "properties" not in node and "additionalProperties" not in node:
        node["x-kubernetes-preserve-unknown-fields"] = True
    if root:
        node["type"] = "object"
        props = node.get("properties", {})
        if "metadata" in props:
            props["metadata"] = {"type": "object"}
    return node


def _strip_junctor(node):
    if not isinstance(node, dict):
        return node
    out = {k: v for k, v in node.items() if k not in ("type", "description", "default", "additionalProperties",
                                                       "nullable", "x-kubernetes-preserve-unknown-fields")}
    if "properties" in out:
        out["properties"] = {k: _strip_junctor(v) for k, v in out["properties"].items()}
    if isinstance(out.get("items"), dict):
        out["items"] = _strip_junctor(out["items"])
    return out


def crd_to_v1(crd: dict) -> dict:
    """Convert an apiextensions.k8s.io/v1beta1 CustomResourceDefinition to v1 (what
    `kubectl convert` used to do), so legacy CRDs install into a 1.22+ API server."""
    if crd.get("apiVersion") == "apiextensions.k8s.io/v1":
        return crd
    crd = copy.deepcopy(crd)
    spec = crd["spec"]
    top_schema = (spec.get("validation") or {}).get("openAPIV3Schema")
    top_sub = spec.get("subresources")
    top_cols = spec.get("additionalPrinterColumns")
    versions = spec.get("versions") or [{"name": spec["version"], "served": True, "storage": True}]
    out_versions = []
    for v in versions:
        nv = {"name": v["name"], "served": v.get("served", True), "storage": v.get("storage", False)}
        schema = ((v.get("schema") or {}).get("openAPIV3Schema")) or top_schema or {}
        nv["schema"] = {"openAPIV3Schema": _structural(schema, root=True)}
        sub = v.get("subresources", top_sub)
        if sub:
            nv["subresources"] = sub
        cols = v.get("additionalPrinterColumns", top_cols)
        if cols:
            nv["additionalPrinterColumns"] = [
                {("jsonPath" if k == "JSONPath" else k): val for k, val in c.items()} for c in cols]
        out_versions.append(nv)
    if len(out_versions) == 1:
        out_versions[0]["storage"] = True
    new_spec = {"group": spec["group"], "names": spec["names"], "scope": spec.get("scope", "Namespaced"),
                "versions": out_versions}
    conv = spec.get("conversion")
    if conv and conv.get("strategy", "None") != "None":
        new_spec["conversion"] = conv
    meta = {k: v for k, v in crd.get("metadata", {}).items() if k in ("name", "labels", "annotations")}
    group = spec["group"]
    if group == "k8s.io" or group.endswith((".k8s.io", ".kubernetes.io")) or group == "kubernetes.io":
        # v1 protects *.k8s.io groups (KEP-1111); v1beta1 CRDs were exempt. "unapproved, ..." is accepted.
        meta.setdefault("annotations", {}).setdefault(
            "api-approved.kubernetes.io", "unapproved, legacy v1beta1 CRD converted to v1 by the local stack")
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": meta, "spec": new_spec}


def load_crds(*crd_dirs: Path) -> list[dict]:
    """The CRDs of every ``*.y*ml`` under ``crd_dirs`` (as apiextensions v1); a CRD of a later directory
    replaces one of the same name from an earlier one."""
    crds: dict[str, dict] = {}
    for crd_dir in crd_dirs:
        for path in sorted(Path(crd_dir).rglob("*.y*ml")):
            for doc in yaml.load_all(path.read_text(), Loader=_Loader):
                if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                    crd = crd_to_v1(doc)
                    crds.pop(crd["metadata"]["name"], None)
                    crds[crd["metadata"]["name"]] = crd
    return list(crds.values())


def install_crds(stack, *crd_dirs: Path, timeout: float = 60.0) -> int:
    """Create or update every CRD found under ``crd_dirs`` (a later directory's CRD wins over an earlier one
    of the same name: load_crds) and wait until all are Established. Returns how many."""
    for crd_dir in crd_dirs:
        if not Path(crd_dir).is_dir():
            raise StackError(f"CRD directory {crd_dir} not found (set TIDEPOOL_EKS_SHARED to the shared/ directory)")
    from kubernetes import client, config
    from kubernetes.client.rest import ApiException
    api = client.ApiextensionsV1Api(config.new_client_from_config(config_file=str(stack.kubeconfig)))
    import hashlib
    crds = load_crds(*crd_dirs)
    for crd in crds:
        name = crd["metadata"]["name"]
        digest = hashlib.sha256(json.dumps(crd, sort_keys=True).encode()).hexdigest()[:16]
        crd["metadata"].setdefault("annotations", {})[HASH_ANNOTATION] = digest
        try:
            current = api.read_custom_resource_definition(name)
            if (current.metadata.annotations or {}).get(HASH_ANNOTATION) == digest:
                continue  # unchanged since the last `up`
            crd["metadata"]["resourceVersion"] = current.metadata.resource_version
            api.replace_custom_resource_definition(name, crd)
        except ApiException as exc:
            if exc.status != 404:
                raise StackError(f"CRD {name}: {exc.status} {exc.reason}: {exc.body}") from exc
            try:
                api.create_custom_resource_definition(crd)
            except ApiException as exc2:
                raise StackError(f"CRD {name}: {exc2.status} {exc2.reason}: {exc2.body}") from exc2
    deadline = time.monotonic() + timeout
    pending = {c["metadata"]["name"] for c in crds}
    while pending and time.monotonic() < deadline:
        for name in list(pending):
            conds = api.read_custom_resource_definition(name).status.conditions or []
            if any(c.type == "Established" and c.status == "True" for c in conds):
                pending.discard(name)
        if pending:
            time.sleep(0.3)
    if pending:
        raise StackError(f"CRDs not Established after {timeout:.0f}s: {', '.join(sorted(pending))}")
    return len(crds)


# What Stack.up calls to start each Kubernetes component: (stack, timeout seconds) -> None.
STARTERS = {"etcd": start_etcd, "kube-apiserver": start_apiserver, "kube-controller-manager": start_kcm}
