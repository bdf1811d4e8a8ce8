"""Fixtures of the GitOps core tests: Tiller TLS material as helm_tls_cert writes it."""
from __future__ import annotations

import datetime

import pytest

from ansible_collections.tidepool.eks.plugins.module_utils.crypto import pki as pki_core

NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """Tiller server and helm-operator client certificates from one CA, in helm_tls_cert's layout."""
    root = tmp_path_factory.mktemp("pki")
    ca_cert, ca_key = pki_core.make_ca("unit", 2048, 30, now=NOW)
    server = root / "tiller"
    client = root / "client"
    for directory, spec in ((server, {"cn": "tiller-deploy.flux", "sans": ["DNS:tiller-deploy.flux"]}),
                            (client, {"cn": "helm-client", "sans": ["DNS:tiller-deploy.flux"]})):
        directory.mkdir()
        cert, key = pki_core.issue_leaf(spec, ca_cert, ca_key, 2048, 30, now=NOW)
        (directory / "ca.pem").write_bytes(pki_core.cert_pem(ca_cert))
        (directory / "cert.pem").write_bytes(pki_core.cert_pem(cert))
        (directory / "key.pem").write_bytes(pki_core.key_pem(key))
    return {"tiller_tls_dir": str(server), "helm_operator_tls_dir": str(client)}
