"""The stack's External Secrets Operator runs with the concurrency the flavour-2 render gives the ESO chart, so the
loop measured on the stack (benchmarks/gitops_loop.py) is the loop a cluster gets."""
from __future__ import annotations

from ansible_collections.tidepool.eks.plugins.module_utils.config import packages
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v2 import charts
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.registry import flavour
from local_stack import gitops


def test_eso_concurrency_and_client_rate_match_the_rendered_chart_values():
    values = {"email": "a@example.com", "flux_version": 2, "aws": {"accountNumber": "123456789012"},
              "cluster": {"metadata": {"name": "c1", "region": "us-east-1"}},
              "pkgs": {"external-secrets": {"enabled": True}}}
    release = [o for o in packages._pkg_external_secrets(values, flavour(2))
               if o["kind"] == "HelmRelease"][0]
    assert release["spec"]["values"]["concurrent"] == gitops.ESO_CONCURRENT == charts.ESO_CONCURRENT
    assert release["spec"]["values"]["extraArgs"] == {"client-qps": gitops.ESO_CLIENT_QPS,
                                                      "client-burst": gitops.ESO_CLIENT_BURST}
    assert (gitops.ESO_CLIENT_QPS, gitops.ESO_CLIENT_BURST) == (charts.ESO_CLIENT_QPS, charts.ESO_CLIENT_BURST)


def test_the_stack_starts_eso_with_those_values(tmp_path, monkeypatch):
    started = {}
    monkeypatch.setattr(gitops, "_start", lambda stack, name, argv, env, timeout: started.update({name: argv}))

    class Stack:
        ports = {"moto": 1, "external-secrets": 2, "external-secrets-metrics": 3}
        aws_endpoint = "http://127.0.0.1:1"
        kubeconfig = tmp_path / "kubeconfig"

        def gitops_bin(self, name):
            return tmp_path / name
    gitops.start_external_secrets(Stack(), 5)
    argv = started["external-secrets"]
    assert f"--concurrent={charts.ESO_CONCURRENT}" in argv
    assert f"--client-qps={charts.ESO_CLIENT_QPS}" in argv and f"--client-burst={charts.ESO_CLIENT_BURST}" in argv


def test_the_stack_s_flux_controllers_run_with_the_scaling_and_lockdown_flags_of_the_components(tmp_path, monkeypatch):
    """One place holds each set of flags (gitops/flux_v2/scaling.FLAGS, lockdown.FLAGS) and one their order
    (customization.LAYERS): the rendered Deployments and the stack's processes."""
    from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v2 import components, customization
    from tests.support.helpers import SHARED
    started = {}
    monkeypatch.setattr(gitops, "_start", lambda stack, name, argv, env, timeout: started.update({name: argv}))

    class Stack:
        ports = {"source-controller": 1, "source-controller-metrics": 2, "source-controller-storage": 3,
                 "kustomize-controller": 4, "kustomize-controller-metrics": 5, "helm-controller": 6,
                 "helm-controller-metrics": 7}
        state = tmp_path
        kubeconfig = tmp_path / "kubeconfig"

        def gitops_bin(self, name):
            return tmp_path / name
    gitops.start_source_controller(Stack(), 5)
    gitops.start_kustomize_controller(Stack(), 5)
    gitops.start_helm_controller(Stack(), 5)
    kustomize = started["kustomize-controller"]
    assert kustomize[-3:] == ["--requeue-dependency=5s",
                              "--no-cross-namespace-refs=true", "--default-service-account=default"]
    # the rendered Deployments carry the same extra arguments, in the same order (scaling, then lockdown)
    rendered = {o["metadata"]["name"]: o["spec"]["template"]["spec"]["containers"][0]["args"]
                for o in customization.apply(components.assemble(
                    components.crd_files(str(SHARED / "reference" / "crds" / "flux2")))) if o["kind"] == "Deployment"}
    for name in ("kustomize-controller", "helm-controller"):
        assert started[name][-3:] == rendered[name][-3:] == [
            "--requeue-dependency=5s", "--no-cross-namespace-refs=true", "--default-service-account=default"], name
    assert not any(a.startswith("--no-cross-namespace-refs") or a.startswith("--requeue-dependency")
                   for a in started["source-controller"])


def test_helm_controller_listens_on_loopback_only_and_posts_no_events(tmp_path, monkeypatch):
    started = {}
    monkeypatch.setattr(gitops, "_start", lambda stack, name, argv, env, timeout: started.update({name: (argv, env)}))

    class Stack:
        ports = {"helm-controller": 6, "helm-controller-metrics": 7}
        kubeconfig = tmp_path / "kubeconfig"

        def gitops_bin(self, name):
            return tmp_path / name
    gitops.start_helm_controller(Stack(), 5)
    argv, env = started["helm-controller"]
    assert "--health-addr=127.0.0.1:6" in argv and "--metrics-addr=127.0.0.1:7" in argv
    assert "--events-addr=" in argv and "--watch-all-namespaces=true" in argv
    assert env["KUBECONFIG"] == str(tmp_path / "kubeconfig") and env["RUNTIME_NAMESPACE"] == "flux-system"
