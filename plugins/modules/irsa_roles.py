#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
from __future__ import annotations

DOCUMENTATION = r"""
module: irsa_roles
short_description: IAM roles for service accounts (IRSA) on a cluster that is not EKS, as eksctl would create them
version_added: 0.3.0
description:
  - On EKS, C(eksctl create iamserviceaccount) creates one IAM role per C(iam.serviceAccounts) entry of the
    ClusterConfig and annotates the service account with C(eks.amazonaws.com/role-arn). This module does the same
    for a cluster eksctl does not manage (C(cluster_provider=existing), the local stack), from the same entries
    (the policies are the ClusterConfig's, written once in the collection).
  - Registers the API server's service account issuer (read from C(/.well-known/openid-configuration) unless
    O(issuer) is given) as an IAM OpenID Connect provider, creates or updates each role (name
    C(eksctl-<cluster>-addon-iamserviceaccount-<namespace>-<name>), cut to 64 characters) with a trust policy for
    that one service account (audience C(sts.amazonaws.com)) and the entry's policy inline, then annotates the
    service account (field manager C(tidepool.eks-irsa), the annotation only).
  - For the issuer's tokens to be accepted by real AWS, the issuer must be reachable by AWS (its discovery
    document and keys); the local stack's AWS endpoint does not check tokens.
  - Check mode reads IAM and the cluster and changes nothing; C(--diff) shows each role to create or update.
extends_documentation_fragment:
  - tidepool.eks.aws
  - tidepool.eks.kubernetes
options:
  values:
    description: The validated inventory (C(inventory_values)); the ClusterConfig's IRSA entries are rendered from it.
    type: dict
    required: true
  scope:
    description:
      - V(secret_readers) - the accounts that read AWS Secrets Manager (Flux v2 - the C(secret-store) account of each
        namespace with secrets; Flux v1 - C(external-secrets)). V(all) - every IRSA entry of the ClusterConfig.
    type: str
    choices: [secret_readers, all]
    default: secret_readers
  issuer:
    description: The service account issuer URL; default the API server's discovery document.
    type: str
  thumbprint:
    description: SHA-1 thumbprint of the issuer's TLS certificate for a new OIDC provider.
    type: str
    default: "0000000000000000000000000000000000000000"
author:
  - Tidepool EKS maintainers (@tidepool-org)
"""

EXAMPLES = r"""
- name: IRSA roles of the SecretStores (local stack)
  tidepool.eks.irsa_roles:
    values: "{{ inventory_values }}"
    endpoint_url: "{{ aws_endpoint_url }}"
    kubeconfig: ~/.kube/config
"""

RETURN = r"""
roles:
  description: Role ARN of each service account, C(<namespace>/<name>) -> ARN (also when only planned).
  returned: always
  type: dict
  sample: {qa1/secret-store: "arn:aws:iam::123456789012:role/eksctl-local-addon-iamserviceaccount-qa1-secret-store"}
changes:
  description: What was (or in check mode would be) created or updated.
  returned: always
  type: list
  elements: str
issuer:
  description: The service account issuer the roles trust.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tidepool.eks.plugins.module_utils.aws import connection as aws
from ansible_collections.tidepool.eks.plugins.module_utils.aws import irsa_roles
from ansible_collections.tidepool.eks.plugins.module_utils.common import runner
from ansible_collections.tidepool.eks.plugins.module_utils.config import inventory
from ansible_collections.tidepool.eks.plugins.module_utils.gitops import registry
from ansible_collections.tidepool.eks.plugins.module_utils.k8s import client as k8s_client
from ansible_collections.tidepool.eks.plugins.module_utils.k8s import options as k8s_options
from ansible_collections.tidepool.eks.plugins.module_utils.k8s import service_accounts
from ansible_collections.tidepool.eks.plugins.module_utils.k8s.apply import Applier


def main():
    spec = aws.aws_argument_spec()
    spec.update(k8s_options.argument_spec(), values=dict(type="dict", required=True),
                scope=dict(type="str", choices=["secret_readers", "all"], default="secret_readers"),
                issuer=dict(type="str"), thumbprint=dict(type="str", default=irsa_roles.DEFAULT_THUMBPRINT))
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    p = module.params

    def work():
        values = p["values"]
        cluster = k8s_client.connect(p["kubeconfig"], p["context"])
        issuer = p["issuer"] or service_accounts.issuer(cluster.api)
        iam = aws.client("iam", p, global_service=True)
        plan = irsa_roles.plan(iam, cluster=inventory.cluster_name(values), account=inventory.account(values),
                               issuer=issuer, accounts=irsa_roles.service_account_entries(
                                   values, registry.for_values(values), p["scope"]),
                               thumbprint=p["thumbprint"])
        runner.apply(module, plan, lambda pl: irsa_roles.apply(iam, pl))
        applier = Applier(cluster.dynamic, field_manager=service_accounts.FIELD_MANAGER)
        annotations = service_accounts.annotation_plan(applier, plan.arns)
        if not module.check_mode:
            service_accounts.annotate(applier, annotations)
        changes = plan.changes() + [f"annotate service account {o['metadata']['namespace']}/{o['metadata']['name']}"
                                    for o, _before in annotations]
        return {"changed": bool(changes), "roles": plan.arns, "changes": changes, "issuer": issuer,
                "diff": plan.diff}

    runner.run(module, work, requires=(aws, k8s_client), errors=(aws.AwsError,), unexpected="irsa_roles")


if __name__ == "__main__":
    main()
