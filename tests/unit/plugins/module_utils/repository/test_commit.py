"""Commit messages of the config repository."""
from __future__ import annotations

from ansible_collections.tidepool.eks.plugins.module_utils.repository import commit


def test_commit_message_names_units():
    msg = commit.commit_message("test1", "A\tclusters/test1/eksctl/cluster-config.yaml\n"
                                               "M\tclusters/test1/flux/environments/qa2/helmrelease-tidepool.yaml\n"
                                               "D\tclusters/test1/flux/shared/datadog/namespace-datadog.yaml\n")
    subject = msg.splitlines()[0]
    assert subject == ("test1 config: update ClusterConfig, environment qa2, shared/datadog "
                       "(1 added, 1 changed, 1 removed)")
    assert "D clusters/test1/flux/shared/datadog/namespace-datadog.yaml" in msg
