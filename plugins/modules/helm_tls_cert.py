#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
from __future__ import annotations

DOCUMENTATION = r"""
module: helm_tls_cert
short_description: Create or reuse the Tiller CA and issue Tiller server and Helm client certificates
description:
  - Replaces the CA step of the Tidepool install guide's C(make_flux) and its C(make_cert) helper.
  - Reads the Tiller CA from AWS Secrets Manager (raw PEM secrets C(<cluster>/flux/ca.pem) and
    C(<cluster>/flux/ca-key.pem)) or from a directory (C(ca.pem), C(ca-key.pem)). When there is none and
    O(create_ca=true), creates one (RSA, SHA-256, C(CA:TRUE)) and stores it there. A stored CA is never
    overwritten or rotated by this module.
  - Issues the Helm client certificate (CN C(helm-client), SAN C(DNS:tiller-deploy.<tiller_namespace>)) into
    C($HELM_HOME/clusters/<cluster>/{ca,cert,key}.pem), optionally copied to C($HELM_HOME/{ca,cert,key}.pem)
    (Helm 2's default TLS files), and the Tiller server certificate (CN and SAN
    C(tiller-deploy.<tiller_namespace>)) into O(server_dest). Both carry the usages of make_cert's cfssl
    profile (digital signature, key encipherment, server auth, client auth).
  - A certificate is re-issued only when it is missing or unreadable, does not match its key, is not signed
    by the current CA, has the wrong CN, SANs or key size, expires within O(renew_before_days) (and a new one
    would expire later; a certificate never outlives its CA), or when O(force_renew=true).
  - Files are written atomically; keys and certificates get mode C(0600), every directory created on the way C(0700); a wrong mode is corrected.
    The CA private key is never written next to the Helm client files.
  - Results and diffs show subjects, SANs, issuers, expiry dates, serials and fingerprints, never key material.
version_added: 0.1.0
author:
  - Tidepool EKS maintainers (@tidepool-org)
options:
  cluster:
    description:
      - Name of the cluster (C(cluster.metadata.name)); selects the CA secrets and the Helm client directory.
    type: str
    required: true
  ca_source:
    description:
      - Where the Tiller CA lives. V(secretsmanager) uses the secrets C(<cluster>/flux/ca.pem) and
        C(<cluster>/flux/ca-key.pem) (raw PEM, as make_flux stored them); V(files) uses O(ca_path).
    type: str
    choices: [secretsmanager, files]
    default: secretsmanager
  ca_path:
    description:
      - Directory holding C(ca.pem) and C(ca-key.pem) when O(ca_source=files), for example the
        C(eksctl-helm-pki*) directory eksctl wrote. A new CA is created there with the key in mode C(0600).
      - Must not be one of the directories certificates are written to.
    type: path
  create_ca:
    description:
      - Create the CA when none is stored. When V(false) and there is no CA, the task fails naming where it looked.
    type: bool
    default: true
  kms_key_id:
    description:
      - KMS key (id, ARN or alias) encrypting the CA secrets when they are created. Default is the account's
        C(aws/secretsmanager) key.
    type: str
  tags:
    description:
      - Tags of the CA secrets when they are created.
    type: dict
  helm_home:
    description:
      - Helm home directory. Defaults to C($HELM_HOME), else C(~/.helm) (make_cert's default).
    type: path
  tiller_namespace:
    description:
      - Namespace of Tiller; the certificates name the host C(tiller-deploy.<tiller_namespace>).
    type: str
    default: flux
  issue:
    description:
      - Which certificates to keep issued. V(client) is the Helm client certificate, V(server) the Tiller
        server certificate (requires O(server_dest)). An empty list only ensures the CA.
    type: list
    elements: str
    choices: [client, server]
    default: [client]
  server_dest:
    description:
      - Directory for the Tiller server C(ca.pem), C(cert.pem) and C(key.pem) (the contents of the
        C(flux/tiller-secret) Secret). Required when O(issue) contains V(server).
    type: path
  copy_to_helm_home:
    description:
      - Also keep copies of the client C(ca.pem), C(cert.pem), C(key.pem) in O(helm_home) itself, so that
        C(helm --tls) finds them without flags (what make_cert did).
    type: bool
    default: true
  validity_days:
    description:
      - Validity of issued certificates in days (make_cert's cfssl profile used 43800h, 1825 days). Capped by the
        CA's own expiry.
    type: int
    default: 1825
  ca_validity_days:
    description:
      - Validity of a newly created CA in days.
    type: int
    default: 3650
  renew_before_days:
    description:
      - Re-issue a certificate that expires within this many days.
    type: int
    default: 30
  key_size:
    description:
      - RSA key size of new keys (CA and certificates). A certificate whose key has another size is re-issued.
    type: int
    default: 4096
  force_renew:
    description:
      - Re-issue the certificates even when they are fine. The CA is never replaced.
    type: bool
    default: false
extends_documentation_fragment:
  - tidepool.eks.aws
  - tidepool.eks.attributes
attributes:
  check_mode:
    support: full
    details: Predicts the CA creation, re-issues and file writes; writes nothing and creates no secret.
  diff_mode:
    support: full
    details:
      - Before/after metadata of the CA and certificates (subject, SANs, issuer, expiry, serial, fingerprint)
        and file modes; never key material.
  idempotent:
    support: full
    details: A second identical run keeps the CA, the certificates and the files and reports no change.
notes:
  - AWS options are only used when O(ca_source=secretsmanager).
  - Rotating the CA is deliberate; delete the CA secrets (or files), run this module again with
    O(issue=[client, server]), then redeploy Tiller with the new server certificate.
seealso:
  - module: community.crypto.x509_certificate
requirements:
  - cryptography >= 41
"""

EXAMPLES = r"""
- name: Helm client certificate for cluster test1 (make_cert)
  tidepool.eks.helm_tls_cert:
    cluster: test1
    region: us-west-2

- name: CA, Tiller server and Helm client certificates for the flux step
  tidepool.eks.helm_tls_cert:
    cluster: "{{ cluster.metadata.name }}"
    region: "{{ cluster.metadata.region }}"
    endpoint_url: "{{ aws_endpoint_url | default(omit) }}"
    issue: [client, server]
    server_dest: "{{ tiller_pki_dir }}"
  register: tiller_tls

- name: Reuse the PKI directory eksctl install flux wrote
  tidepool.eks.helm_tls_cert:
    cluster: test1
    ca_source: files
    ca_path: /tmp/eksctl-helm-pki123456
    create_ca: false
"""

RETURN = r"""
ca:
  description: The Tiller CA (metadata only).
  returned: always
  type: dict
  sample:
    source: secretsmanager
    cert: test1/flux/ca.pem
    key: test1/flux/ca-key.pem
    created: false
    subject: O=tidepool.eks,CN=tiller-ca.test1
    not_after: "2035-01-01T00:00:00+00:00"
    serial: 4f1c...
    sha256_fingerprint: "AB:CD:..."
certificates:
  description:
    - One entry per requested certificate (V(client), V(server)) with its paths, whether it was issued in this
      run and why, and its metadata (subject, issuer, sans, not_before, not_after, serial, sha256_fingerprint,
      key_size). In check mode an entry that would be issued has no metadata yet.
  returned: always
  type: dict
  sample:
    client:
      issued: false
      reasons: []
      cert_path: /home/u/.helm/clusters/test1/cert.pem
      key_path: /home/u/.helm/clusters/test1/key.pem
      ca_path: /home/u/.helm/clusters/test1/ca.pem
      copies: [{ca: /home/u/.helm/ca.pem, cert: /home/u/.helm/cert.pem, key: /home/u/.helm/key.pem}]
      subject: CN=helm-client
      sans: ["DNS:tiller-deploy.flux"]
      not_after: "2030-01-01T00:00:00+00:00"
files:
  description: Every managed file with its mode and the action taken (create, update, chmod, keep).
  returned: always
  type: list
  elements: dict
  sample: [{path: /home/u/.helm/clusters/test1/key.pem, mode: "0600", action: keep}]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tidepool.eks.plugins.module_utils.aws import connection as aws
from ansible_collections.tidepool.eks.plugins.module_utils.common import runner
from ansible_collections.tidepool.eks.plugins.module_utils.crypto import helm_tls, pki
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v1 import ca_store

CORE_OPTIONS = ("cluster", "ca_source", "ca_path", "create_ca", "helm_home", "tiller_namespace", "issue",
                "server_dest", "copy_to_helm_home", "validity_days", "ca_validity_days", "renew_before_days",
                "key_size", "force_renew")


def argument_spec() -> dict:
    spec = aws.aws_argument_spec()
    spec.update(
        cluster=dict(type="str", required=True),
        ca_source=dict(type="str", choices=["secretsmanager", "files"], default="secretsmanager"),
        ca_path=dict(type="path"),
        create_ca=dict(type="bool", default=True),
        kms_key_id=dict(type="str"),
        tags=dict(type="dict"),
        helm_home=dict(type="path"),
        tiller_namespace=dict(type="str", default="flux"),
        issue=dict(type="list", elements="str", choices=["client", "server"], default=["client"]),
        server_dest=dict(type="path"),
        copy_to_helm_home=dict(type="bool", default=True),
        validity_days=dict(type="int", default=helm_tls.DEFAULT_VALIDITY_DAYS),
        ca_validity_days=dict(type="int", default=helm_tls.DEFAULT_CA_VALIDITY_DAYS),
        renew_before_days=dict(type="int", default=helm_tls.DEFAULT_RENEW_BEFORE_DAYS),
        key_size=dict(type="int", default=helm_tls.DEFAULT_KEY_SIZE),
        force_renew=dict(type="bool", default=False),
    )
    return spec


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        required_if=[("ca_source", "files", ("ca_path",)), ],
        supports_check_mode=True,
    )
    p = module.params

    def work():
        params = helm_tls.normalize_params({k: p[k] for k in CORE_OPTIONS})
        if params["ca_source"] == "files":
            store = ca_store.FileCAStore(params["ca_path"])
        else:
            store = ca_store.SecretsManagerCAStore(aws.client("secretsmanager", p), params["cluster"],
                                                   kms_key_id=p["kms_key_id"], tags=p["tags"])
        plan = helm_tls.build_plan(params, store)
        result = runner.apply(module, plan, helm_tls.apply_plan, plan.result)
        return dict(result, warnings=plan.warnings, diff=plan.diff)

    def work_on_files():
        try:
            return work()
        except OSError as exc:
            raise runner.Failure(f"Writing the certificate files failed: {exc.strerror} ({exc.filename}); check "
                                 f"helm_home / server_dest / ca_path and their permissions.") from None

    # unexpected errors: no traceback in the message, since locals hold key material
    runner.run(module, work_on_files, requires=(pki,), errors=(pki.HelmTLSError, aws.AwsError),
               unexpected="helm_tls_cert")


if __name__ == "__main__":
    main()
