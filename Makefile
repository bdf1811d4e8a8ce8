# Entry points. `make local` and `make test` do all set-up on a fresh machine (see README).
SHELL := /bin/bash
export PATH := $(CURDIR)/.venv/bin:$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg

.PHONY: bootstrap stack stack-down local molecule test unit integration lint sanity changelog-lint docs-site ee collection checks

bootstrap:
	scripts/bootstrap

## scripts/bootstrap with the stack's Go builds (`scripts/local-stack build $(1)`) beside it: pip is mostly network,
## the builds need no .venv until their last two steps, which wait for bootstrap's stamp. Both must pass.
bootstrap_and_build = TIDEPOOL_BUILD_WAIT_FOR_VENV=1800 scripts/local-stack build $(1) & build=$$!; \
	scripts/bootstrap; boot=$$?; [ $$boot -eq 0 ] || kill $$build 2>/dev/null; wait $$build && [ $$boot -eq 0 ]

## The local stack (docs/local-stack.md): build the control-plane binaries once (cached outside the
## repository), start moto, etcd, kube-apiserver, kube-controller-manager, git daemon + smart HTTP, fake GitHub,
## Flux source-/kustomize-controller and the External Secrets Operator.
stack:
	$(call bootstrap_and_build,local)
	scripts/local-stack up

stack-down:
	scripts/local-stack down

## Main job on the embedded default: host `local` of the inventory (Flux v2 + External Secrets Operator), against the
## local stack; it ends when Flux has applied the pushed commit, every ExternalSecret's Secret exists and every
## HelmRelease is Ready with its Deployments / StatefulSets Available.
local: stack
	eval "$$(scripts/local-stack env)" && ansible-playbook site.yml -l local
	@echo "make local: Flux (the stack's source-, kustomize- and helm-controller) applied the config repository, the External Secrets Operator wrote its Secrets and every HelmRelease installed from the stack's chart repository onto the kwok nodes (the lines under 'What Flux applied' above); Alerts and image policies are stored only (no notification- or image controllers: docs/local-stack.md)."

## Molecule scenarios (delegated driver) against the local stack: default (site.yml), config, secrets; with the
## stack's environment exported, so ports moved with TIDEPOOL_STACK_*_PORT reach every scenario.
molecule: stack
	eval "$$(scripts/local-stack env)" && molecule test --all

## The test suite (unit + integration). CI runs this through .ci/run. scripts/run_tests.py runs it in
## TIDEPOOL_TEST_WORKERS pytest processes at once (default 2; 1 = one plain pytest), each with its own stack on free
## ports, whole modules per process (the GitOps modules together, in order); it prints each process's log at the end.
test:
	$(call bootstrap_and_build,local)
	scripts/local-stack build eksctl || echo "make test: the eksctl build failed; only the tests that run eksctl need it (test_eksctl_cluster.py, test_eksctl_dry_run.py ...: they fail with CI=true, are skipped otherwise)" >&2
	scripts/local-stack build flux-cli || echo "make test: the flux CLI build failed; only the tests that run the flux CLI need it (test_config_flavour2.py, test_first_cluster_journey.py, test_site_local_flux2.py: they fail with CI=true, are skipped otherwise)" >&2
	python scripts/run_tests.py

## unit tests in TIDEPOOL_UNIT_WORKERS processes (pytest-xdist; default 2, 0 = one plain pytest)
unit: bootstrap
	pytest -n $${TIDEPOOL_UNIT_WORKERS:-2} tests/unit

integration: bootstrap
	scripts/local-stack build local
	scripts/local-stack build eksctl || echo "make integration: the eksctl build failed; only tests/integration/test_eksctl_dry_run.py needs it" >&2
	pytest --durations=25 tests/integration

## Collection checks (issue 10): what Galaxy holds collections to, plus the execution environment.
## ansible-test sanity over the built collection (offline; docs/development.md)
sanity: bootstrap
	scripts/sanity

## ansible-lint, production profile (.ansible-lint)
lint: bootstrap
	ansible-lint

changelog-lint: bootstrap
	antsibull-changelog lint

## The docs site: antsibull-docs + Sphinx over the collection's plugin and role docs, warnings as errors, offline
## (scripts/docs-site; its own pinned environment .venv-docs)
docs-site: bootstrap
	scripts/docs-site

## ansible-builder create: the execution environment's build context (no container engine needed)
ee: bootstrap
	scripts/ee create

## ansible-galaxy collection build into ~/.cache/tidepool-eks/collection (tests/integration/test_collection_install.py
## installs it into a clean collections path and runs site.yml -l local from there)
collection: bootstrap
	mkdir -p $${TIDEPOOL_EKS_CACHE:-$$HOME/.cache/tidepool-eks}/collection
	ansible-galaxy collection build --force --output-path $${TIDEPOOL_EKS_CACHE:-$$HOME/.cache/tidepool-eks}/collection .

checks: sanity lint changelog-lint docs-site ee collection
