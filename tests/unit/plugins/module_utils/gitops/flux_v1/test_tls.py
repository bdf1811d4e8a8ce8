"""Reading the Tiller TLS material of Flux v1: files helm_tls_cert wrote, keys matching, one CA."""
from __future__ import annotations

import datetime

import pytest

from ansible_collections.tidepool.eks.plugins.module_utils.crypto import pki as pki_core
from ansible_collections.tidepool.eks.plugins.module_utils.gitops import bootstrap as fb
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v1 import tls as tls_files

NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)


def spec_of(pki, **over):
    return fb.normalize_params({"cluster": "unit1", "git_url": "git@github.com:tidepool-org/cluster-unit1.git",
                                "git_email": "a@example.com", **pki, **over})


def test_read_tls_refuses_a_foreign_ca(pki, tmp_path):
    other_ca, other_key = pki_core.make_ca("other", 2048, 30, now=NOW)
    cert, key = pki_core.issue_leaf({"cn": "helm-client", "sans": ["DNS:tiller-deploy.flux"]}, other_ca, other_key, 2048, 30,
                                    now=NOW)
    (tmp_path / "cert.pem").write_bytes(pki_core.cert_pem(cert))
    (tmp_path / "key.pem").write_bytes(pki_core.key_pem(key))
    spec = spec_of(pki, helm_operator_tls_dir=str(tmp_path))
    with pytest.raises(fb.FluxBootstrapError, match="not signed by the Tiller CA"):
        tls_files.read_tls(spec)
    spec = spec_of(pki, tiller_tls_dir=str(tmp_path / "missing"))
    with pytest.raises(fb.FluxBootstrapError, match="tiller_tls_dir: cannot read .*ca.pem"):
        tls_files.read_tls(spec)


def test_read_tls_reads_all_five_pem_files(pki):
    material = tls_files.read_tls(spec_of(pki))
    assert set(material) == {"ca", "server_cert", "server_key", "client_cert", "client_key"}
    assert all(value.startswith(b"-----BEGIN ") for value in material.values())


def test_missing_file_is_flagged_for_check_mode(pki, tmp_path):
    with pytest.raises(fb.FluxBootstrapError) as err:
        tls_files.read_tls(spec_of(pki, helm_operator_tls_dir=str(tmp_path / "none")))
    assert err.value.missing is True
    assert "helm_operator_tls_dir: cannot read" in str(err.value)
