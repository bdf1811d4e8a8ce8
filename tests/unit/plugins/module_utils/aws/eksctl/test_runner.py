"""Unit tests of running eksctl (plugins/module_utils/aws/eksctl/runner.py): a real child process, no eksctl."""
from __future__ import annotations

import os
import sys

import pytest

from ansible_collections.tidepool.eks.plugins.module_utils.common.errors import TidepoolError
from ansible_collections.tidepool.eks.plugins.module_utils.aws.eksctl import runner
from ansible_collections.tidepool.eks.plugins.module_utils.aws.eksctl.planning import Plan
from ansible_collections.tidepool.eks.plugins.module_utils.aws.eksctl.state import ClusterError


def test_timeout_stops_eksctl_with_a_clear_message():
    with pytest.raises(runner.Timeout, match=r"did not finish within 1 s") as err:
        runner.run_eksctl(["sleep", "30"], dict(os.environ), timeout=1)
    assert isinstance(err.value, ClusterError) and isinstance(err.value, TidepoolError)


def test_output_is_returned_and_logged_line_by_line():
    seen = []
    rc, lines = runner.run_eksctl([sys.executable, "-c", "print('a'); print('b')"], dict(os.environ), 30, seen.append)
    assert rc == 0 and lines == ["a", "b"] and seen == ["a", "b"]


def test_missing_eksctl_is_one_sentence():
    with pytest.raises(ClusterError, match="Cannot run /nonexistent/eksctl"):
        runner.run_eksctl(["/nonexistent/eksctl", "version"], {}, 5)


def test_failing_command_stops_the_run():
    plan = Plan("c", "us-west-2")
    plan.commands = [[sys.executable, "-c", "print('boom'); raise SystemExit(3)"], ["never", "run"]]
    with pytest.raises(ClusterError, match=r"failed \(exit 3\): boom\.") as err:
        runner.apply_plan(plan, env=dict(os.environ), timeout=30)
    assert [r["rc"] for r in err.value.ran] == [3]


def test_eksctl_env_from_the_connection():
    env = runner.eksctl_env({"endpoint_url": "http://moto:5000", "aws_access_key_id": "AK"}, "eu-west-1",
                            base={"PATH": "/bin", "AWS_PROFILE": "keep"})
    assert env == {"PATH": "/bin", "AWS_PROFILE": "keep", "AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-1",
                   "AWS_ENDPOINT_URL": "http://moto:5000", "AWS_ACCESS_KEY_ID": "AK"}


def test_file_logger_time_stamps_each_line(tmp_path):
    log = runner.FileLogger(str(tmp_path / "logs" / "eksctl.log"))
    log("hello")
    log.close()
    text = (tmp_path / "logs" / "eksctl.log").read_text()
    assert text.endswith("Z hello\n") and text[:4].isdigit()
