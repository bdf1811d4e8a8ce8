"""One Flux release everywhere: the controllers the local stack builds (versions.env) are the versions the collection
pins for the components it installs (components.CONTROLLERS of components.FLUX_VERSION), and the flux role installs
that release by default."""
from pathlib import Path

import yaml

from local_stack.common import REPO, versions
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v2 import components

BUILT = {"source-controller": "SOURCE_CONTROLLER_VERSION", "kustomize-controller": "KUSTOMIZE_CONTROLLER_VERSION",
         "helm-controller": "HELM_CONTROLLER_VERSION", "notification-controller": "NOTIFICATION_CONTROLLER_VERSION"}


def test_the_stack_builds_the_controllers_of_the_pinned_flux_release():
    pins = versions()
    assert pins["FLUX_VERSION"] == components.FLUX_VERSION     # the stack's flux CLI (build flux-cli)
    assert {name: pins[var] for name, var in BUILT.items()} == {
        name: components.CONTROLLERS[name][0] for name in BUILT}


def test_the_flux_role_installs_the_pinned_release_by_default():
    defaults = yaml.safe_load(Path(REPO, "roles/flux/defaults/main.yml").read_text())
    specs = yaml.safe_load(Path(REPO, "roles/flux/meta/argument_specs.yml").read_text())["argument_specs"]
    assert defaults["flux_v2_release"] == components.FLUX_VERSION
    declared = {spec["options"]["flux_v2_release"]["default"] for spec in specs.values()
                if "flux_v2_release" in spec.get("options", {})}
    assert declared == {components.FLUX_VERSION}


def test_the_tools_role_installs_the_flux_cli_of_the_pinned_release():
    """The flux role renders the components with this CLI's `flux install --export` and refuses another release."""
    tools = yaml.safe_load(Path(REPO, "roles/tools/defaults/main.yml").read_text())
    (flux,) = [pin for pin in tools["tools_pins"] if pin["name"] == "flux"]
    assert "v" + flux["version"] == components.FLUX_VERSION
    for platform, artifact in flux["platforms"].items():
        assert f"/download/{components.FLUX_VERSION}/flux_{flux['version']}_" in artifact["url"], platform
