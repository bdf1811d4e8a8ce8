"""Unit tests never reach the local stack: when integration modules ran earlier in the same pytest process,
tests/conftest.py has exported the stack's endpoints (AWS_ENDPOINT_URL, KUBECONFIG, ...) to os.environ, and a
boto3 client inside ``moto.mock_aws()`` would send its calls to the stack's moto server (mock_aws intercepts only
AWS's own endpoints) and see what the integration tests left there."""
from __future__ import annotations

import pytest

STACK_ENV = ("AWS_ENDPOINT_URL", "KUBECONFIG", "K8S_AUTH_KUBECONFIG", "TIDEPOOL_STACK_DIR", "TIDEPOOL_GIT_URL",
             "TIDEPOOL_GIT_HTTP_URL", "GITHUB_API_URL", "GITHUB_TOKEN", "TIDEPOOL_STACK_CHARTS_URL")


@pytest.fixture(autouse=True)
def _no_stack_endpoints(monkeypatch):
    for name in STACK_ENV:
        monkeypatch.delenv(name, raising=False)
