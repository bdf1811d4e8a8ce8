"""Tiller TLS material for flux_bootstrap, written the way the flux role leaves it: one CA, a Tiller serving
certificate and a Helm client certificate, each directory holding ``ca.pem``, ``cert.pem`` and ``key.pem``."""
from __future__ import annotations

import datetime
from pathlib import Path

from ansible_collections.tidepool.eks.plugins.module_utils.crypto import pki


def write_tiller_tls(root: Path, *, ca_name: str, namespace: str, now: datetime.datetime | None = None) -> dict:
    """Write ``<root>/tiller`` (CN ``tiller-deploy.<namespace>``) and ``<root>/client`` (CN ``helm-client``),
    both signed by a new CA named ``ca_name`` (RSA 2048, 30 days from ``now``, default: this moment; both with
    the SAN ``DNS:tiller-deploy.<namespace>``). Returns flux_bootstrap's parameters
    ``{"tiller_tls_dir": str, "helm_operator_tls_dir": str}``."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    tiller = f"tiller-deploy.{namespace}"
    ca_cert, ca_key = pki.make_ca(ca_name, 2048, 30, now=now)
    dirs = {}
    for which, cn in (("tiller", tiller), ("client", "helm-client")):
        d = Path(root) / which
        d.mkdir()
        cert, key = pki.issue_leaf({"cn": cn, "sans": [f"DNS:{tiller}"]}, ca_cert, ca_key, 2048, 30, now=now)
        (d / "ca.pem").write_bytes(pki.cert_pem(ca_cert))
        (d / "cert.pem").write_bytes(pki.cert_pem(cert))
        (d / "key.pem").write_bytes(pki.key_pem(key))
        dirs[which] = str(d)
    return {"tiller_tls_dir": dirs["tiller"], "helm_operator_tls_dir": dirs["client"]}
