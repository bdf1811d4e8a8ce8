"""The stack's External Secrets Operator runs with the concurrency the flavour-2 render gives the ESO chart, so the
loop measured on the stack (benchmarks/gitops_loop.py) is the loop a cluster gets."""
from __future__ import annotations

from ansible_collections.tidepool.eks.plugins.module_utils.config import packages
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.registry import flavour
from local_stack import gitops


def test_eso_concurrency_matches_the_rendered_chart_value():
    values = {"email": "a@example.com", "flux_version": 2, "aws": {"accountNumber": "123456789012"},
              "cluster": {"metadata": {"name": "c1", "region": "us-east-1"}},
              "pkgs": {"external-secrets": {"enabled": True}}}
    release = [o for o in packages._pkg_external_secrets(values, flavour(2))
               if o["kind"] == "HelmRelease"][0]
    assert release["spec"]["values"]["concurrent"] == gitops.ESO_CONCURRENT == packages.ESO_CONCURRENT
