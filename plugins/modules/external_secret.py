#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
from __future__ import annotations

DOCUMENTATION = r"""
---
module: external_secret
short_description: Store Kubernetes Secrets in AWS Secrets Manager and emit their ExternalSecret manifests
version_added: 0.1.0
description:
  - Stores each Kubernetes C(Secret) manifest as the AWS Secrets Manager secret C(<cluster>/<namespace>/<name>),
    whose value is a JSON object of key to plaintext value, and returns (optionally writes) the matching
    kubernetes-external-secrets C(ExternalSecret) manifests. Replaces the Tidepool helpers
    C(external_secret upsert|create|delete) and the secret-persisting part of C(make_random_secrets).
  - Many secrets in one task. Existing secrets are found with C(ListSecrets) and their values read with
    C(BatchGetSecretValue) (20 per call); values are compared as parsed JSON, so key order and whitespace
    written by other tools do not matter; only secrets that differ are written.
  - With O(overwrite=false) (create-only, for generated values) the values of an existing secret are never
    changed; only the keys the manifest has and the stored secret lacks (a key the catalogue added since the
    secret was created) are added, so the ExternalSecret never names a key that does not exist. A secret
    scheduled for deletion is restored in both modes.
  - All input is validated before the first write, so bad input never leaves AWS half-changed.
  - The writes run in input order. When one fails (for example a secret replicated here from another region,
    which only its primary region may change), the task fails with one message naming that secret; the
    result lists what was written before it (RV(created), RV(updated), RV(restored), RV(deleted)),
    RV(failed_secrets) and RV(not_attempted), and the manifest files under O(dest) are written only for the
    secrets that are stored. Running again once the cause is fixed completes the batch.
  - Secret values never appear in the result, the diff, warnings or error messages.
author:
  - Tidepool EKS maintainers (@tidepool-org)
options:
  cluster:
    description:
      - Cluster name; the first part of every Secrets Manager id.
    type: str
    required: true
  secrets:
    description:
      - Kubernetes Secret manifests (C(apiVersion=v1), C(kind=Secret)). Each needs C(metadata.name),
        C(metadata.namespace) and C(data) and/or C(stringData) (not needed with O(state=absent)).
      - Mutually exclusive with O(src) and O(purge); one of the three is required.
      - The values are masked in Ansible output (C(no_log)).
    type: list
    elements: dict
    suboptions:
      apiVersion:
        description: Must be V(v1).
        type: str
        default: v1
      kind:
        description: Must be V(Secret).
        type: str
        default: Secret
      metadata:
        description: C(name), C(namespace), and optionally C(labels) and C(annotations), copied into the ExternalSecret.
        type: dict
        required: true
      type:
        description: Secret type; a type other than C(Opaque) is carried over as C(spec.template.type).
        type: str
      immutable:
        description: Accepted and ignored.
        type: bool
      data:
        description: Key to value; base64 with O(encoding=encoded), plain with O(encoding=plaintext).
        type: dict
      stringData:
        description: Key to plaintext value, whatever O(encoding) says; wins over C(data) for the same key.
        type: dict
  src:
    description:
      - Path of a multi-document YAML file of Secret manifests (a C(List) of Secrets also works), on the host
        running the task. Empty documents and documents without metadata are skipped.
      - Mutually exclusive with O(secrets).
    type: path
  encoding:
    description:
      - How C(data) values are given. V(encoded) (base64, as in any Kubernetes Secret) or V(plaintext).
        C(stringData) is always plaintext.
    type: str
    choices: [plaintext, encoded]
    default: encoded
  purge:
    description:
      - With O(state=absent) and neither O(secrets) nor O(src), delete every secret of the cluster (every id that
        starts with C(<cluster>/); another cluster's never), for example at teardown. The result lists them under
        RV(deleted); secrets already scheduled for deletion are left alone unless O(force_delete). O(dest) is not
        used (the manifests go with the config repository's cluster directory).
    type: bool
    default: false
  namespaces:
    description:
      - With O(purge), delete only the secrets of these namespaces (ids C(<cluster>/<namespace>/*); V(qa2) never
        matches C(qa20)), for example the stored values of environments removed from the inventory (the secrets
        role's C(secrets_purge_environments)). An empty list deletes nothing.
      - Each must be a namespace name (a DNS label); a bad one fails the task before any call.
    type: list
    elements: str
  state:
    description:
      - V(present) stores the secrets; V(absent) deletes them (and their manifest files under O(dest)).
    type: str
    choices: [present, absent]
    default: present
  overwrite:
    description:
      - V(true) makes each stored value equal to the manifest (update what differs).
      - V(false) is create-only, for generated values; a secret that already exists keeps its values, so reruns
        never rotate them; keys it lacks are added (reported as updated; check mode and C(--diff) name them); one
        scheduled for deletion is restored with its old values, plus the keys they lack. A stored value that is not
        a JSON object is left alone with a warning.
    type: bool
    default: true
  tags:
    description:
      - Tags set on every secret (added or updated; other tags are left alone). Applied to new secrets,
        and with O(overwrite=true) to existing ones.
    type: dict
  kms_key_id:
    description:
      - KMS key (id, ARN or alias) that encrypts new secrets; the account's C(aws/secretsmanager) key when unset.
        The key of an existing secret is not changed.
    type: str
  description:
    description:
      - Description of new secrets. Default C(Kubernetes Secret <namespace>/<name>, managed by tidepool.eks).
    type: str
  recovery_window:
    description:
      - With O(state=absent), days (7 to 30) before AWS deletes the secret for good; V(0) deletes at once.
    type: int
    default: 30
  force_delete:
    description:
      - With O(state=absent), delete without any recovery window (also secrets already scheduled for deletion).
    type: bool
    default: false
  dest:
    description:
      - Directory where the ExternalSecret manifests are written as C(<dest>/<namespace>/<name>.yaml)
        (mode 0644; they hold no value), for example C(<config repo>/clusters/<cluster>/flux/external-secrets).
      - A file is only rewritten when its content changes. With O(state=absent) the files are removed.
    type: path
  manifest_format:
    description:
      - V(spec) writes the descriptor under C(spec), as the kubernetes-external-secrets CRD (KES 3 and later)
        defines and the API server validates.
      - V(secretDescriptor) writes it under C(secretDescriptor), the field of KES 1.x and 2.x that the
        original Tidepool helpers printed.
    type: str
    choices: [spec, secretDescriptor]
    default: spec
  flux_version:
    description:
      - The GitOps flavour whose manifests are written (the inventory's C(flux_version)).
      - V(1) (the install guide's stack) writes kubernetes-external-secrets C(ExternalSecret) manifests; V(2) writes
        External Secrets Operator C(external-secrets.io/v1) C(ExternalSecret) manifests reading through the
        namespace's SecretStore (O(role_arn) and O(manifest_format=secretDescriptor) have no equivalent there).
    type: int
    choices: [1, 2]
    default: 1
  role_arn:
    description:
      - IAM role kubernetes-external-secrets assumes to read these secrets (C(roleArn) of the descriptor).
    type: str
  manifest_region:
    description:
      - Region written into the ExternalSecret manifests. Defaults to O(region) when that is set.
    type: str
extends_documentation_fragment:
  - tidepool.eks.aws
  - tidepool.eks.attributes
attributes:
  check_mode:
    support: full
    details: Reads Secrets Manager and the files under O(dest), predicts every change, writes nothing.
  diff_mode:
    support: full
    details: Key names added, removed and changed per secret (values redacted; in create-only mode the added
      key names only), and the manifest files.
  idempotent:
    support: full
    details: A second identical run reports no change.
notes:
  - IAM permissions - C(secretsmanager:ListSecrets), C(BatchGetSecretValue) and C(GetSecretValue) (values are
    read with O(state=present) - compared with O(overwrite=true), their key names with O(overwrite=false)),
    C(CreateSecret), C(PutSecretValue), C(RestoreSecret), C(TagResource), C(DeleteSecret) on C(arn:aws:secretsmanager:<region>:<account>:secret:<cluster>/*).
seealso:
  - plugin: tidepool.eks.external_secret
    plugin_type: lookup
"""

EXAMPLES = r"""
- name: Persist plaintext Secrets and write their ExternalSecrets into the config repo
  tidepool.eks.external_secret:
    cluster: "{{ cluster.metadata.name }}"
    region: "{{ cluster.metadata.region }}"
    src: secrets/qa1.yaml
    encoding: plaintext
    dest: "{{ config_repo_checkout }}/clusters/{{ cluster.metadata.name }}/flux/external-secrets"

- name: Store generated values once; reruns never rotate them
  tidepool.eks.external_secret:
    cluster: test1
    overwrite: false
    secrets:
      - metadata: {name: auth, namespace: qa1}
        stringData:
          ServiceAuth: "{{ lookup('community.general.random_string', length=40, special=false) }}"

- name: Delete every secret of cluster test1 (7-day recovery window)
  tidepool.eks.external_secret:
    cluster: test1
    state: absent
    purge: true
    recovery_window: 7

- name: Delete the stored values of environment qa2, removed from the inventory
  tidepool.eks.external_secret:
    cluster: test1
    state: absent
    purge: true
    namespaces: [qa2]

- name: Delete a secret at once
  tidepool.eks.external_secret:
    cluster: test1
    state: absent
    force_delete: true
    secrets:
      - metadata: {name: auth, namespace: qa1}
"""

RETURN = r"""
created:
  description: Secrets Manager ids created.
  returned: always
  type: list
  elements: str
  sample: [test1/qa1/auth]
updated:
  description: Ids whose value (or tags) were updated; in create-only mode, those that got the keys they lacked.
  returned: always
  type: list
  elements: str
restored:
  description: Ids that were scheduled for deletion and were restored.
  returned: always
  type: list
  elements: str
unchanged:
  description: Ids left as they were.
  returned: always
  type: list
  elements: str
deleted:
  description: Ids deleted (state=absent); with O(purge), every secret of the cluster (or of O(namespaces)) that was deleted.
  returned: always
  type: list
  elements: str
manifests:
  description:
    - The ExternalSecret manifests, in input order (empty with state=absent). They hold no value.
    - After a failure mid-batch, only those of the secrets that are stored.
    - Their C(apiVersion) is the one of the GitOps flavour's secrets controller (kubernetes-external-secrets for
      Flux v1, C(plugins/module_utils/gitops/flux_v1/external_secrets.py)); the sample omits it.
  returned: always
  type: list
  elements: dict
  sample:
    - kind: ExternalSecret
      metadata: {name: auth, namespace: qa1}
      spec:
        backendType: secretsManager
        data: [{key: test1/qa1/auth, name: ServiceAuth, property: ServiceAuth}]
files:
  description: Manifest files under O(dest) written or removed (or that would be, in check mode).
  returned: always
  type: list
  elements: str
failed_secrets:
  description:
    - When a write failed mid-batch, the id whose write failed (it may be half-done, for example restored but
      not updated). The lists above then hold only what was done before it.
  returned: failure
  type: list
  elements: str
  sample: [test1/qa1/mongo]
not_attempted:
  description: When a write failed mid-batch, the ids with a change that was not attempted.
  returned: failure
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.tidepool.eks.plugins.module_utils.common import runner  # noqa: E402
from ansible_collections.tidepool.eks.plugins.module_utils.gitops import registry  # noqa: E402
from ansible_collections.tidepool.eks.plugins.module_utils.secrets import external_secret as core  # noqa: E402
from ansible_collections.tidepool.eks.plugins.module_utils.secrets import purge  # noqa: E402
from ansible_collections.tidepool.eks.plugins.module_utils.aws.connection import (  # noqa: E402
    AwsError,
    aws_argument_spec,
    client,
    resolve_connection,
)

SECRET_SUBOPTIONS = dict(
    apiVersion=dict(type="str", default="v1"),
    kind=dict(type="str", default="Secret"),
    metadata=dict(type="dict", required=True),
    type=dict(type="str"),
    immutable=dict(type="bool"),
    data=dict(type="dict", no_log=True),
    stringData=dict(type="dict", no_log=True),
)


def argument_spec() -> dict:
    return dict(
        aws_argument_spec(),
        cluster=dict(type="str", required=True),
        # The values live in data/stringData, which are no_log themselves; names and metadata stay visible.
        secrets=dict(type="list", elements="dict", options=SECRET_SUBOPTIONS, no_log=False),
        src=dict(type="path"),
        encoding=dict(type="str", choices=list(core.ENCODINGS), default="encoded"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        overwrite=dict(type="bool", default=True),
        tags=dict(type="dict"),
        kms_key_id=dict(type="str"),
        description=dict(type="str"),
        recovery_window=dict(type="int", default=30),
        force_delete=dict(type="bool", default=False),
        dest=dict(type="path"),
        manifest_format=dict(type="str", choices=registry.secret_manifest_formats(), default="spec"),
        flux_version=dict(type="int", choices=registry.versions(), default=registry.DEFAULT_VERSION),
        role_arn=dict(type="str"),
        manifest_region=dict(type="str"),
        purge=dict(type="bool", default=False),
        namespaces=dict(type="list", elements="str"),
    )


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True,
                           mutually_exclusive=[("secrets", "src")])
    p = module.params

    def work():
        if p["purge"]:
            if p["secrets"] is not None or p["src"] or p["state"] != "absent":
                raise runner.Failure("Option purge deletes every secret of the cluster (or of namespaces): it needs "
                                     "state=absent and neither secrets nor src.")
            return purge.purge(client("secretsmanager", conn=resolve_connection(p)), p["cluster"],
                               namespaces=p["namespaces"], check_mode=module.check_mode,
                               recovery_window=p["recovery_window"], force_delete=p["force_delete"])
        if p["namespaces"] is not None:
            raise runner.Failure("Option namespaces narrows purge: it needs purge=true.")
        if p["secrets"] is None and not p["src"]:
            raise runner.Failure("One of the options secrets, src or purge (with state=absent) is required.")
        src_text = None
        if p["src"]:
            try:
                with open(p["src"], encoding="utf-8") as fh:
                    src_text = fh.read()
            except OSError as exc:
                raise runner.Failure(f"Cannot read src {p['src']}: {exc.strerror}.") from None
        present = p["state"] == "present"
        docs = core.parse_secrets(core.load_documents(p["secrets"], src_text, src_label=p["src"] or "src"),
                                  p["cluster"], p["encoding"], require_values=present)
        conn = resolve_connection(p)
        return core.sync(
            client("secretsmanager", conn=conn), p["cluster"], docs, state=p["state"], overwrite=p["overwrite"],
            check_mode=module.check_mode, tags=p["tags"], kms_key_id=p["kms_key_id"],
            description=p["description"], recovery_window=p["recovery_window"], force_delete=p["force_delete"],
            dest=p["dest"], region=p["manifest_region"] or p["region"], manifest_format=p["manifest_format"],
            role_arn=p["role_arn"], flavour=registry.flavour(p["flux_version"]))

    runner.run(module, work, errors=(core.InputError, AwsError), fields=lambda exc: getattr(exc, "result", {}))


if __name__ == "__main__":
    main()
