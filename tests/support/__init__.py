"""Test support: run playbooks and modules the way a user does, reference schemas, inventory and AWX data."""
