# Entry points. `make local` and `make test` do all set-up on a fresh machine (see README).
SHELL := /bin/bash
export PATH := $(CURDIR)/.venv/bin:$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg

.PHONY: bootstrap stack stack-down local molecule test unit integration lint

bootstrap:
	scripts/bootstrap

## The local stack (docs/local-stack.md): build the control-plane binaries once (cached outside the
## repository), start moto, etcd, kube-apiserver, kube-controller-manager, git daemon, fake GitHub.
stack: bootstrap
	scripts/local-stack build
	scripts/local-stack up

stack-down:
	scripts/local-stack down

## Main job on the embedded default: host `local` of the inventory, against the local stack.
local: stack
	eval "$$(scripts/local-stack env)" && ansible-playbook site.yml -l local

## Molecule scenarios (delegated driver) against the local stack.
molecule: stack
	molecule test

## The test suite (unit + integration). CI runs this through .ci/run.
test: bootstrap
	scripts/local-stack build
	pytest

unit: bootstrap
	pytest tests/unit

integration: bootstrap
	scripts/local-stack build
	pytest tests/integration
