# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""The Tiller TLS material Flux v1 needs: the Tiller server and helm-operator client certificates that
``helm_tls_cert`` writes, read and checked before anything is applied."""
from __future__ import annotations

import os

from ansible_collections.tidepool.eks.plugins.module_utils.crypto import pki
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.errors import FluxBootstrapError


def _read_pem(directory: str, filename: str, option: str, hint: str) -> bytes:
    path = os.path.join(directory, filename)
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        error = FluxBootstrapError(f"{option}: cannot read {path} ({exc.strerror}); {hint}")
        error.missing = True
        raise error from None
    if b"-----BEGIN " not in data:
        raise FluxBootstrapError(f"{option}: {path} is not a PEM file; {hint}")
    return data


def read_tls(spec: dict) -> dict:
    """PEM bytes ``ca``, ``server_cert``, ``server_key``, ``client_cert``, ``client_key`` from the directories
    helm_tls_cert writes (``server_dest`` and ``<helm_home>/clusters/<cluster>``). Checks that each key matches
    its certificate and that both certificates are signed by the CA; raises FluxBootstrapError otherwise."""
    server_hint = "issue it with tidepool.eks.helm_tls_cert (issue: [server], server_dest: this directory)."
    client_hint = ("issue it with tidepool.eks.helm_tls_cert (issue: [client], helm_home: a directory whose "
                   "clusters/<cluster> is this directory).")
    sdir, cdir = spec["tiller_tls_dir"], spec["helm_operator_tls_dir"]
    tls = {
        "ca": _read_pem(sdir, "ca.pem", "tiller_tls_dir", server_hint),
        "server_cert": _read_pem(sdir, "cert.pem", "tiller_tls_dir", server_hint),
        "server_key": _read_pem(sdir, "key.pem", "tiller_tls_dir", server_hint),
        "client_cert": _read_pem(cdir, "cert.pem", "helm_operator_tls_dir", client_hint),
        "client_key": _read_pem(cdir, "key.pem", "helm_operator_tls_dir", client_hint),
    }
    try:
        ca = pki.load_cert(tls["ca"])
        for which, option in (("server", "tiller_tls_dir"), ("client", "helm_operator_tls_dir")):
            cert = pki.load_cert(tls[f"{which}_cert"])
            key = pki.load_key(tls[f"{which}_key"])
            if cert is None or key is None:
                raise FluxBootstrapError(f"{option}: cert.pem or key.pem cannot be read as a certificate and key.")
            if not pki.key_matches_cert(key, cert):
                raise FluxBootstrapError(f"{option}: key.pem does not belong to cert.pem.")
            if ca is None or not pki.signed_by(cert, ca):
                raise FluxBootstrapError(f"{option}: cert.pem is not signed by the Tiller CA in tiller_tls_dir/ca.pem "
                                         "(helm-operator and Tiller must share one CA).")
    except pki.HelmTLSError as exc:
        raise FluxBootstrapError(str(exc)) from None
    return tls


#: Placeholder TLS material: object identities only (state=absent never applies these).
NO_TLS = {"ca": b"", "server_cert": b"", "server_key": b"", "client_cert": b"", "client_key": b""}
