# Entry points. `make local` and `make test` do all set-up on a fresh machine (see README).
SHELL := /bin/bash
export PATH := $(CURDIR)/.venv/bin:$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg

.PHONY: bootstrap local test unit integration lint

bootstrap:
	scripts/bootstrap

## Main job on the embedded default: host `local` of the inventory.
local: bootstrap
	ansible-playbook site.yml -l local

## The test suite (unit + integration). CI runs this through .ci/run.
test: bootstrap
	pytest

unit: bootstrap
	pytest tests/unit

integration: bootstrap
	pytest tests/integration
