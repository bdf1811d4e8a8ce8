"""Filters of the config repository's URL: what task names show, what goes to a no_log option, exact GitHub hosts."""
from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.tidepool.eks.plugins.filter import repository as f


def test_public_url_and_userinfo_split_a_token_url():
    url = "https://bot:ghp_T0ken%2F@github.com/o/r.git"
    assert f.git_public_url(url) == "https://github.com/o/r.git"
    assert f.git_userinfo(url) == "bot:ghp_T0ken%2F"
    for other in ("git@github.com:o/r.git", "ssh://git@github.com/o/r.git", "file:///x.git", ""):
        assert f.git_public_url(other) == other and f.git_userinfo(other) == ""


def test_github_is_the_host_exactly():
    assert f.git_url_on_github("git@github.com:o/r.git")
    assert not f.git_url_on_github("git@github.com.evil.example:o/r.git")
    assert f.git_url_host("git@github.com.evil.example:o/r.git") == "github.com.evil.example"
    assert f.git_url_host("tidepool/cluster-local") == ""
    with pytest.raises(AnsibleFilterError, match="unambiguously"):
        f.git_url_host("https://evil.example\\@github.com/o/r.git")
