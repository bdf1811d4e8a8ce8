"""The local stack's moto server, plus EKS DescribeClusterVersions (which moto 5.x does not implement), and EKS
clusters whose endpoint and certificate authority are the local API server's (:func:`install_endpoint`).

``eksctl create cluster`` (``--dry-run`` included) calls DescribeClusterVersions (``GET /cluster-versions``)
to validate ``metadata.version``. This file adds that one operation to moto's EKS backend and then runs
moto's own server: ``python moto_eks_shim.py -H 127.0.0.1 -p 15566`` takes the arguments of
``python -m moto.server``.

The versions answered are the Kubernetes versions eksctl v0.230.0 knows (``pkg/apis/eksctl.io/v1alpha5``,
``Version1_xx``), with its ``DefaultVersion`` (1.34) as the default; the statuses follow the EKS version
calendar (standard support for the three newest minors, extended support for the rest).
"""
from __future__ import annotations

import sys

#: (version, status) newest first; STANDARD_SUPPORT / EXTENDED_SUPPORT / UNSUPPORTED like the real API.
CLUSTER_VERSIONS = (
    ("1.35", "STANDARD_SUPPORT"),
    ("1.34", "STANDARD_SUPPORT"),
    ("1.33", "STANDARD_SUPPORT"),
    ("1.32", "EXTENDED_SUPPORT"),
    ("1.31", "EXTENDED_SUPPORT"),
    ("1.30", "EXTENDED_SUPPORT"),
)
DEFAULT_VERSION = "1.34"


def cluster_versions(versions=CLUSTER_VERSIONS, default=DEFAULT_VERSION, only=None) -> list[dict]:
    """The ``clusterVersions`` list of a DescribeClusterVersions answer (``only``: names to keep)."""
    out = []
    for version, status in versions:
        if only and version not in only:
            continue
        out.append({
            "clusterVersion": version,
            "clusterType": "eks",
            "defaultPlatformVersion": "eks.1",
            "defaultVersion": version == default,
            "status": status,
            "versionStatus": status,
            "kubernetesPatchVersion": f"{version}.0",
        })
    return out


def install() -> None:
    """Add DescribeClusterVersions to moto's EKS responses and URL map (idempotent)."""
    from moto.core.responses import ActionResult
    from moto.eks import urls
    from moto.eks.responses import EKSResponse

    def describe_cluster_versions(self):
        only = self._get_param("clusterVersions") or None
        if isinstance(only, str):
            only = [only]
        return ActionResult({"clusterVersions": cluster_versions(only=only)})

    EKSResponse.describe_cluster_versions = describe_cluster_versions
    urls.url_paths.setdefault("{0}/cluster-versions$", urls.response.dispatch)


def stand_in_endpoint(kubeconfig: str | None) -> dict | None:
    """``{endpoint, ca_data}`` of the local API server (the current cluster of ``kubeconfig``), or None."""
    import os

    if not kubeconfig or not os.path.exists(kubeconfig):
        return None
    import yaml

    with open(kubeconfig, encoding="utf-8") as fh:
        data = yaml.safe_load(fh) or {}
    ctx = {c["name"]: c["context"] for c in data.get("contexts") or []}.get(data.get("current-context")) or {}
    cluster = {c["name"]: c["cluster"] for c in data.get("clusters") or []}.get(ctx.get("cluster")) or {}
    if not cluster.get("server"):
        return None
    return {"endpoint": cluster["server"], "ca_data": cluster.get("certificate-authority-data")}


_INSTALLED: list = []  # install_endpoint ran (idempotent)


def install_endpoint() -> None:
    """EKS clusters created in moto answer the local API server as their endpoint and certificate authority
    (DescribeCluster), read from the kubeconfig named by ``LOCAL_STACK_KUBECONFIG`` when the cluster is created:
    the local stack's API server stands in for every EKS control plane, so the preflight's check that the
    kubeconfig is the cluster's (plugins/module_utils/preflight/checks.py) holds for it."""
    import os

    from moto.eks import models

    if _INSTALLED:
        return
    original = models.Cluster.__init__

    def __init__(self, *args, **kwargs):
        original(self, *args, **kwargs)
        found = stand_in_endpoint(os.environ.get("LOCAL_STACK_KUBECONFIG"))
        if found:
            self.endpoint = found["endpoint"]
            if found["ca_data"]:
                self.certificate_authority = {"data": found["ca_data"]}

    models.Cluster.__init__ = __init__
    _INSTALLED.append(True)


def main(argv: list[str] | None = None) -> None:
    install()
    install_endpoint()
    from moto import server
    server.main(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
