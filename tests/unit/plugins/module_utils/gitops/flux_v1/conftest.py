"""Fixtures of the Flux v1 unit tests: the fake Secrets Manager client of the crypto tests (the Tiller CA store)."""
from __future__ import annotations

from tests.unit.plugins.module_utils.crypto.conftest import secretsmanager  # noqa: F401 (a fixture)
