"""Host `local` (the README's main command, what `make local` does) resolves every endpoint to the local stack.
Its converge, rerun and check mode against the stack are test_site_local_objects.py's (one converge, not two)."""
import json
import subprocess

import pytest

from tests.support.helpers import REPO, VENV_BIN, ansible_env

pytestmark = pytest.mark.integration


def test_site_local_touches_nothing_outside_the_stack(local_stack_env):
    """The `local` host resolves every endpoint to the stack on 127.0.0.1."""
    res = subprocess.run(
        [str(VENV_BIN / "ansible"), "local", "-m", "ansible.builtin.debug", "-a",
         "msg={{ {'aws': aws_endpoint_url, 'repo': config_repo_url, 'gh': github_api_url, "
         "'kubeconfig': kubeconfig, 'provider': cluster_provider} | to_json }}"],
        capture_output=True, text=True, env=ansible_env({**local_stack_env, "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
                                                          "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json"}),
        check=True, cwd=str(REPO))
    msg = json.loads(res.stdout)["plays"][0]["tasks"][0]["hosts"]["local"]["msg"]
    msg = json.loads(msg) if isinstance(msg, str) else msg
    assert msg["provider"] == "existing"
    assert msg["aws"] == local_stack_env["AWS_ENDPOINT_URL"]
    assert msg["repo"] == local_stack_env["TIDEPOOL_GIT_URL"] + "cluster-local.git"
    assert msg["gh"] == local_stack_env["GITHUB_API_URL"]
    assert msg["kubeconfig"] == local_stack_env["KUBECONFIG"]
    for url in (msg["aws"], msg["repo"], msg["gh"]):
        assert "127.0.0.1" in url
