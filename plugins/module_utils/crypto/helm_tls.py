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
  ``cryptography`` library and writes files atomically (keys and certificates ``0600``, new directories ``0700``).

A certificate is re-issued only when it is missing, unreadable, does not match its key, was not
signed by the current CA, names the wrong subject/SANs/key size, or expires within
``renew_before_days`` (and a new one would expire later), or when ``force_renew`` is set.
The CA private key is never written next to the Helm client files (make_cert did not keep it).

The certificates themselves are made by :mod:`pki`, the CA is kept by a store of :mod:`ca_store`, and the
files are read and written with :mod:`pem_files`.
"""
from __future__ import annotations

import datetime
import os

from ansible_collections.tidepool.eks.plugins.module_utils.common import naming
from ansible_collections.tidepool.eks.plugins.module_utils.common.plan import Plan as PlanBase
from ansible_collections.tidepool.eks.plugins.module_utils.crypto.pem_files import (
    CA_FILE, CERT_FILE, CERT_MODE, KEY_FILE, KEY_MODE, file_state, set_mode, write_atomic)
from ansible_collections.tidepool.eks.plugins.module_utils.crypto.pki import (
    HelmTLSError, cert_pem, common_name, describe_cert, issue_leaf, key_matches_cert, key_pem, load_cert, load_key,
    make_ca, not_after, sans_of, signed_by, utcnow)

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
    if not_after(cert) <= now:
        reasons.append("certificate expired")
    elif not_after(cert) <= horizon and (ca_cert is None or not_after(cert) < not_after(ca_cert)):
        reasons.append(f"certificate expires {not_after(cert).date().isoformat()}, within renew_before_days "
                       f"({p['renew_before_days']})")
    if p["force_renew"] and not reasons:
        reasons.append("force_renew")
    return reasons


class Plan(PlanBase):
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
        if not_after(ca_cert) <= now:
            raise HelmTLSError(
                f"The Tiller CA at {store.cert_ref} expired on {not_after(ca_cert).date().isoformat()}; rotating "
                f"it is a deliberate step: remove the stored CA, run again, then redeploy Tiller.")
        if not_after(ca_cert) <= now + datetime.timedelta(days=p["renew_before_days"]):
            plan.warnings.append(
                f"The Tiller CA at {store.cert_ref} expires on {not_after(ca_cert).date().isoformat()}; "
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
