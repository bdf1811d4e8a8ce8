# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""IAM roles for service accounts (IRSA) of the eksctl ClusterConfig (``iam.serviceAccounts``) and their policies.

Fixes against the original helpers (research ``tidepool-tools.md`` section 22): ``s3:ListBucket`` names the bucket
ARN; ARNs use the inventory's account and region; the external-secrets role may not read the Tiller CA key; bucket
overrides are honoured. Least privilege (issue 17): Route53 record changes only in the hosted zones the inventory
names (``aws.hostedZoneIds``, else those of its DNS names: :mod:`config.route53`), S3 only on buckets of the
inventory's account (``s3:ResourceAccount``), the autoscaler's writes only on the auto scaling groups tagged for the cluster, logs
only in the cluster's log groups, SES only from the configured identity (``aws.sesIdentity`` or the domain of
``email``).

Secrets readers are the GitOps flavour's (:func:`secret_reader_accounts`, the caller passes the flavour):
flavour 1's kubernetes-external-secrets reads every secret of the cluster with the role of its own service
account; flavour 2 gives each namespace that holds secrets (:func:`config.inventory.secret_namespaces`) a
SecretStore service account whose role reads only ``<cluster>/<namespace>/*``; the ``flux`` namespace's role
is denied the Tiller CA kept after a migration (:func:`flux_ca_key_denial`).
"""
from __future__ import annotations

from ansible_collections.tidepool.eks.plugins.module_utils.config import inventory
from ansible_collections.tidepool.eks.plugins.module_utils.config import route53
from ansible_collections.tidepool.eks.plugins.module_utils.config import tidepool_chart
from ansible_collections.tidepool.eks.plugins.module_utils.common import naming


def _statement(actions, resources, effect="Allow", condition=None):
    out = {"Effect": effect, "Action": actions, "Resource": resources}
    if condition:
        out["Condition"] = condition
    return out


def _policy(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _irsa(name, ns, usage, policy):
    return {"metadata": {"name": name, "namespace": ns, "labels": {"aws-usage": usage}}, "attachPolicy": policy}


def route53_policy(values: dict) -> dict:
    """cert-manager's and external-dns's policy (:func:`config.route53.policy`): record changes in the hosted zones
    ``aws.hostedZoneIds`` names (the cluster step fills it from the zones of the inventory's DNS names when the
    inventory names none; every zone of the account only in the offline rendering), reads of zones and changes
    everywhere (Route53 has no narrower resource for them)."""
    return route53.policy(values)


def s3_statement(actions, resources, account: str) -> dict:
    """An S3 statement of an IRSA role, valid only on buckets of the inventory's account (``s3:ResourceAccount``):
    a bucket of the same name in another account (names are global) is never reached."""
    return _statement(actions, resources, condition={"StringEquals": {"s3:ResourceAccount": str(account)}})


def flux_ca_key_denial(entry: dict, cluster: str, region: str, account: str) -> dict:
    """``entry`` (a Secrets Manager reader's IRSA entry) with a Deny of the Tiller CA kept after a migration
    (``<cluster>/flux/ca-*``: ``ca-key.pem``) when it is the ``flux`` namespace's: that namespace's
    store reads ``<cluster>/flux/*``, and the CA key mints Tiller client certificates (cluster-admin). Other entries
    unchanged."""
    if entry["metadata"]["namespace"] != naming.FLUX_NAMESPACE:
        return entry
    policy = dict(entry["attachPolicy"])
    policy["Statement"] = list(policy.get("Statement") or []) + [_statement(
        ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
        f"arn:aws:secretsmanager:{region}:{account}:secret:{cluster}/{naming.FLUX_NAMESPACE}/ca-*", effect="Deny")]
    return {**entry, "attachPolicy": policy}


def autoscaler_policy(cluster: str) -> dict:
    """cluster-autoscaler's policy: describe everything (AWS has no resource scope for Describe*), change only the
    auto scaling groups tagged for this cluster (the node group tags of :func:`config.cluster_config`)."""
    return _policy(
        _statement(["autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeAutoScalingInstances",
                    "autoscaling:DescribeLaunchConfigurations", "autoscaling:DescribeTags",
                    "ec2:DescribeLaunchTemplateVersions"], "*"),
        _statement(["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"], "*",
                   condition={"StringEquals": {f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster}": "true",
                                               "aws:ResourceTag/k8s.io/cluster-autoscaler/enabled": "true"}}),
    )


def log_groups_arn(cluster: str, region: str, account: str) -> str:
    """The cluster's CloudWatch log groups (Container Insights: ``/aws/containerinsights/<cluster>/...``)."""
    return f"arn:aws:logs:{region}:{account}:log-group:/aws/containerinsights/{cluster}/*"


def ses_identity(values: dict) -> str:
    """The SES identity hydrophone sends from: ``aws.sesIdentity`` (a domain or an address), else the domain of
    the inventory's ``email``."""
    return (values.get("aws") or {}).get("sesIdentity") or values["email"].rsplit("@", 1)[-1]


def secret_reader_accounts(values: dict, flavour) -> list[dict]:
    """The IRSA service accounts that read secrets from Secrets Manager, as ``flavour``
    (:class:`gitops.flavour.Flavour`) writes them for the namespaces that hold secrets
    (:func:`config.inventory.secret_namespaces`), the ``flux`` namespace's denied the Tiller CA
    (:func:`flux_ca_key_denial`); none unless ``pkgs.external-secrets`` is enabled."""
    namespaces = inventory.secret_namespaces(values)
    if not namespaces:
        return []
    cluster, region, account = inventory.cluster_name(values), inventory.region(values), inventory.account(values)
    return [flux_ca_key_denial(entry, cluster, region, account)
            for entry in flavour.secret_reader_accounts(cluster, region, account, list(namespaces))]


def irsa_service_accounts(values: dict, flavour) -> list[dict]:
    """IRSA service accounts of the ClusterConfig (``iam.serviceAccounts``), in the guide's order.

    Shared services get theirs only when their package is enabled; the secrets readers are ``flavour``'s
    (:func:`secret_reader_accounts`); every environment gets those of its Tidepool chart
    (:data:`config.tidepool_chart.SERVICE_ACCOUNTS`; chart 0.1.7: blob, image and jellyfish read-write on its data
    bucket, hydrophone read-only on its asset bucket and sending email through SES; chart 0.26: blob, hydrophone,
    and the mailer, which sends the email).
    """
    cluster, region, account = inventory.cluster_name(values), inventory.region(values), inventory.account(values)
    enabled = set(inventory.enabled_pkgs(values))
    out = []
    if "cluster-autoscaler" in enabled:
        out.append(_irsa("cluster-autoscaler", "kube-system", "cluster-ops", autoscaler_policy(cluster)))
    if "certmanager" in enabled:
        out.append(_irsa("certmanager", "certmanager", "certificate-management", route53_policy(values)))
    if "amazon-cloudwatch" in enabled:
        groups = log_groups_arn(cluster, region, account)
        out.append(_irsa("cloudwatch", "amazon-cloudwatch", "cloudwatch-logging", _policy(_statement(
            ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            [groups, f"{groups}:log-stream:*"]))))
    if "external-dns" in enabled:
        out.append(_irsa("external-dns", "external-dns", "DNS-alias-creation", route53_policy(values)))
    out += secret_reader_accounts(values, flavour)
    for env, conf in (values.get("environments") or {}).items():
        buckets = naming.bucket_names(cluster, env, (conf or {}).get("buckets"))
        chart = tidepool_chart.merge_source(flavour.TIDEPOOL_CHART, (conf or {}).get("chart"))
        for svc, (bucket, access, sends_email) in tidepool_chart.SERVICE_ACCOUNTS[
                tidepool_chart.generation(chart)].items():
            name = buckets[bucket]
            objects = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"] if access == "rw" else ["s3:GetObject"]
            statements = [s3_statement("s3:ListBucket", f"arn:aws:s3:::{name}", account),
                          s3_statement(objects, f"arn:aws:s3:::{name}/*", account)]
            if sends_email:
                statements.append(_statement(["ses:SendEmail", "ses:SendRawEmail"],
                                             f"arn:aws:ses:{region}:{account}:identity/{ses_identity(values)}"))
            out.append(_irsa(svc, env, f"{svc}-service", _policy(*statements)))
    return out
