# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""IAM roles for service accounts (IRSA) of the eksctl ClusterConfig (``iam.serviceAccounts``) and their policies.

Fixes against the original helpers (research ``tidepool-tools.md`` section 22): ``s3:ListBucket`` names the bucket
ARN; ARNs use the inventory's account and region; the external-secrets role may not read the Tiller CA key; bucket
overrides are honoured. Least privilege (issue 17): Route53 record changes only in the hosted zones the inventory
names (``aws.hostedZoneIds``), the autoscaler's writes only on the auto scaling groups tagged for the cluster, logs
only in the cluster's log groups, SES only from the configured identity (``aws.sesIdentity`` or the domain of
``email``).

Secrets readers are the GitOps flavour's (:func:`secret_reader_accounts`, the caller passes the flavour):
flavour 1's kubernetes-external-secrets reads every secret of the cluster with the role of its own service
account; flavour 2 gives each namespace that holds secrets (:func:`config.inventory.secret_namespaces`) a
SecretStore service account whose role reads only ``<cluster>/<namespace>/*``.
"""
from __future__ import annotations

from ansible_collections.tidepool.eks.plugins.module_utils.config import inventory
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
    """cert-manager's and external-dns's policy: record changes in the hosted zones ``aws.hostedZoneIds`` names
    (every zone of the account when the inventory names none), reads of zones and changes everywhere (Route53
    has no narrower resource for them)."""
    zones = (values.get("aws") or {}).get("hostedZoneIds") or []
    arns = [f"arn:aws:route53:::hostedzone/{z.rsplit('/', 1)[-1]}" for z in zones] or "arn:aws:route53:::hostedzone/*"
    return _policy(
        _statement(["route53:ChangeResourceRecordSets", "route53:ListResourceRecordSets"], arns),
        _statement(["route53:GetChange"], "arn:aws:route53:::change/*"),
        _statement(["route53:ListHostedZones", "route53:ListHostedZonesByName"], "*"),
    )


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
    (:func:`config.inventory.secret_namespaces`); none unless ``pkgs.external-secrets`` is enabled."""
    namespaces = inventory.secret_namespaces(values)
    if not namespaces:
        return []
    return flavour.secret_reader_accounts(inventory.cluster_name(values), inventory.region(values),
                                          inventory.account(values), list(namespaces))


def irsa_service_accounts(values: dict, flavour) -> list[dict]:
    """IRSA service accounts of the ClusterConfig (``iam.serviceAccounts``), in the guide's order.

    Shared services get theirs only when their package is enabled; the secrets readers are ``flavour``'s
    (:func:`secret_reader_accounts`); every environment gets blob, image and jellyfish (read-write on its data
    bucket) and hydrophone (read-only on its asset bucket, sends email through SES).
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
        data, asset = buckets["data"], buckets["asset"]
        for svc in ("blob", "image", "jellyfish"):
            out.append(_irsa(svc, env, f"{svc}-service", _policy(
                _statement("s3:ListBucket", f"arn:aws:s3:::{data}"),
                _statement(["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], f"arn:aws:s3:::{data}/*"))))
        out.append(_irsa("hydrophone", env, "hydrophone-service", _policy(
            _statement("s3:ListBucket", f"arn:aws:s3:::{asset}"),
            _statement(["s3:GetObject"], f"arn:aws:s3:::{asset}/*"),
            _statement(["ses:SendEmail", "ses:SendRawEmail"],
                       f"arn:aws:ses:{region}:{account}:identity/{ses_identity(values)}"))))
    return out
