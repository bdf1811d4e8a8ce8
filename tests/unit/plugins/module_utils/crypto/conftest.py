"""Fixtures of the crypto unit tests: a fake Secrets Manager client (no network)."""
from __future__ import annotations

import pytest


class FakeError(Exception):
    """A botocore ClientError look-alike: ``response["Error"]["Code"]``."""

    def __init__(self, code):
        super().__init__(code)
        self.response = {"Error": {"Code": code, "Message": f"fake {code}"}}


class FakeSecretsManager:
    """Just enough of a boto3 secretsmanager client; ``secrets`` maps ids to strings, ``calls`` records calls."""

    Error = FakeError

    def __init__(self):
        self.secrets = {}
        self.calls = []

    def get_secret_value(self, SecretId):
        self.calls.append(("get", SecretId))
        if SecretId not in self.secrets:
            raise FakeError("ResourceNotFoundException")
        return {"Name": SecretId, "SecretString": self.secrets[SecretId]}

    def create_secret(self, Name, SecretString, **kwargs):
        self.calls.append(("create", Name))
        if Name in self.secrets:
            raise FakeError("ResourceExistsException")
        self.secrets[Name] = SecretString
        return {"Name": Name}

    def delete_secret(self, SecretId, **kwargs):
        self.calls.append(("delete", SecretId))
        self.secrets.pop(SecretId, None)


@pytest.fixture
def secretsmanager():
    return FakeSecretsManager()
