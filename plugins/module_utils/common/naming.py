# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Naming conventions of tidepool.eks, in one place.

Every role, module, filter and template derives names from these functions instead of repeating
string patterns. The conventions are those of the Tidepool install guide and its helper scripts
(``tidepool-org/development`` ``bin/``; see ``../shared/research/tidepool-tools.md`` section 21).
"""
from __future__ import annotations

import os
import re

# ---------------------------------------------------------------------------------------------
# Names and patterns
# ---------------------------------------------------------------------------------------------
#
# Every pattern is anchored with \A...\Z and compiled with re.ASCII: ``$`` would accept a trailing newline and
# ``\d`` a non-ASCII digit. The ``*_PATTERN`` strings are the same rules for JSON Schema (config/values_schema.py).

#: eksctl's rule for a cluster name (``pkg/apis/eksctl.io/v1alpha5`` validation): a letter, then
#: letters, digits and hyphens. EKS allows at most 100 characters.
CLUSTER_NAME_PATTERN = r"\A[a-zA-Z][-a-zA-Z0-9]*\Z"
CLUSTER_NAME_RE = re.compile(CLUSTER_NAME_PATTERN, re.ASCII)
CLUSTER_NAME_MAX = 100

#: RFC 1123 DNS label: Kubernetes namespace names (and so Tidepool environment names).
DNS_LABEL_PATTERN = r"\A[a-z0-9]([-a-z0-9]*[a-z0-9])?\Z"
DNS_LABEL_RE = re.compile(DNS_LABEL_PATTERN, re.ASCII)
DNS_LABEL_MAX = 63


def is_dns_label(value) -> bool:
    """Whether ``value`` is a string and an RFC 1123 DNS label of at most :data:`DNS_LABEL_MAX` characters (a valid
    Kubernetes namespace name)."""
    return isinstance(value, str) and len(value) <= DNS_LABEL_MAX and bool(DNS_LABEL_RE.match(value))


#: RFC 1123 DNS subdomain: names of most Kubernetes objects (Secrets, ConfigMaps, ...).
DNS_SUBDOMAIN_PATTERN = r"\A[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\Z"
DNS_SUBDOMAIN_RE = re.compile(DNS_SUBDOMAIN_PATTERN, re.ASCII)
DNS_SUBDOMAIN_MAX = 253

#: S3 bucket naming rules (general purpose buckets): 3-63 chars, lower case, digits, dots, hyphens, no "..".
BUCKET_NAME_PATTERN = r"\A(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\Z"
BUCKET_NAME_RE = re.compile(BUCKET_NAME_PATTERN, re.ASCII)

#: HelmRelease of a Tidepool environment: name ``tidepool`` in namespace ``<env>``.
ENVIRONMENT_RELEASE = "tidepool"

#: Namespace of Flux v1, helm-operator and Tiller (``eksctl install flux`` default).
FLUX_NAMESPACE = "flux"


def secret_id(cluster: str, namespace: str, name: str) -> str:
    """Secrets Manager id of a Kubernetes Secret: ``<cluster>/<namespace>/<name>``.

    The value stored there is a JSON object of key -> plaintext value, as in the Tidepool install
    guide ("Persist Your Secrets").
    """
    return f"{cluster}/{namespace}/{name}"


def split_secret_id(secret_id_: str) -> tuple[str, str, str]:
    """Inverse of :func:`secret_id`. Raises ValueError when the id has not exactly three parts."""
    parts = secret_id_.split("/")
    if len(parts) != 3 or not all(parts):
        raise ValueError(f"secret id {secret_id_!r} is not of the form <cluster>/<namespace>/<name>")
    return parts[0], parts[1], parts[2]


def secret_prefix(cluster: str) -> str:
    """Prefix of every Secrets Manager id of a cluster: ``<cluster>/``."""
    return f"{cluster}/"


def tiller_ca_ids(cluster: str) -> tuple[str, str]:
    """Secrets Manager ids of the Tiller CA certificate and key (raw PEM): ``<cluster>/flux/ca.pem``,
    ``<cluster>/flux/ca-key.pem`` (make_flux)."""
    return f"{cluster}/{FLUX_NAMESPACE}/ca.pem", f"{cluster}/{FLUX_NAMESPACE}/ca-key.pem"


def bucket_names(cluster: str, env: str, overrides: dict | None = None) -> dict:
    """S3 buckets of an environment: ``{"data": ..., "asset": ...}``.

    Defaults ``tidepool-<cluster>-<env>-data`` and ``tidepool-<cluster>-<env>-asset``; ``overrides`` is the
    inventory's ``environments.<env>.buckets`` dict (keys ``data``, ``asset``), whose non-empty values win.
    """
    overrides = overrides or {}
    return {
        "data": overrides.get("data") or f"tidepool-{cluster}-{env}-data",
        "asset": overrides.get("asset") or f"tidepool-{cluster}-{env}-asset",
    }


def environment_release_name(env: str) -> str:
    """Helm release name of a Tidepool environment: ``<env>-tidepool``."""
    return f"{env}-{ENVIRONMENT_RELEASE}"


def cluster_stack(cluster: str) -> str:
    """CloudFormation stack eksctl creates for the control plane."""
    return f"eksctl-{cluster}-cluster"


def nodegroup_stack(cluster: str, nodegroup: str) -> str:
    """CloudFormation stack eksctl creates for a node group."""
    return f"eksctl-{cluster}-nodegroup-{nodegroup}"


def iamserviceaccount_stack(cluster: str, namespace: str, name: str) -> str:
    """CloudFormation stack eksctl creates for an IRSA service account."""
    return f"eksctl-{cluster}-addon-iamserviceaccount-{namespace}-{name}"


def helm_client_dir(helm_home: str, cluster: str) -> str:
    """Directory of a cluster's Helm client TLS files: ``$HELM_HOME/clusters/<cluster>``."""
    return os.path.join(helm_home, "clusters", cluster)


def deploy_key_title(cluster: str) -> str:
    """Title of the Flux deploy key on the config repository."""
    return f"flux key for {cluster}"


# ---------------------------------------------------------------------------------------------
# Config repository layout (docs/config-repo.md)
# ---------------------------------------------------------------------------------------------
#
#   clusters/<cluster>/eksctl/cluster-config.yaml       eksctl ClusterConfig (not a Kubernetes object)
#   clusters/<cluster>/flux/                            the only path Flux syncs (--git-path)
#       shared/<pkg>/<kind>-<name>.yaml                 shared services of enabled pkgs (with their namespaces)
#       environments/<env>/<kind>-<name>.yaml           one directory per Tidepool environment
#       external-secrets/<namespace>/<name>.yaml        ExternalSecret manifests (secrets role)


def cluster_dir(cluster: str) -> str:
    """Directory of one cluster in the config repository (several clusters share one repository)."""
    return f"clusters/{cluster}"


def flux_path(cluster: str) -> str:
    """The path Flux syncs (``--git-path``): Kubernetes manifests only."""
    return f"{cluster_dir(cluster)}/flux"


def eksctl_config_path(cluster: str) -> str:
    """Path of the eksctl ClusterConfig in the config repository, outside the Flux path."""
    return f"{cluster_dir(cluster)}/eksctl/cluster-config.yaml"


def external_secret_dir(cluster: str) -> str:
    """Directory of ExternalSecret manifests (``<namespace>/<name>.yaml``) under the Flux path."""
    return f"{flux_path(cluster)}/external-secrets"


def git_secret_dir(cluster: str) -> str:
    """Directory of plain Secret manifests when ``secrets_backend: git`` (private repositories only)."""
    return f"{flux_path(cluster)}/secrets"


def manifest_filename(obj: dict) -> str:
    """File name of one Kubernetes object: ``<kind>-<name>.yaml`` in lower case."""
    return f"{obj['kind'].lower()}-{obj['metadata']['name']}.yaml"
