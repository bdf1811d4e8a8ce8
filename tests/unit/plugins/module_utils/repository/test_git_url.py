"""repository.git_url: the host of a git URL read as git reads it, compared exactly (issue 24: a look-alike host of
github.com never counts as github.com), and the same-origin check of GitHub's pagination links."""
from __future__ import annotations

import pytest

from ansible_collections.tidepool.eks.plugins.module_utils.repository import git_url


@pytest.mark.parametrize("url, host", [
    ("git@github.com:o/r.git", "github.com"),
    ("github.com:o/r.git", "github.com"),
    ("ssh://git@GitHub.com:22/o/r.git", "github.com"),
    ("https://bot:t0ken@github.com/o/r.git", "github.com"),
    ("git@github.com.evil.example:o/r.git", "github.com.evil.example"),
    ("https://github.com@evil.example/o/r.git", "evil.example"),
    ("https://evil.example/github.com/o/r.git", "evil.example"),
    ("git://127.0.0.1:19418/cluster-local.git", "127.0.0.1"),
    ("o/r", None), ("/srv/git/r.git", None), ("file:///srv/git/r.git", None), ("./r.git", None), ("", None),
])
def test_host(url, host):
    assert git_url.host(url) == host


@pytest.mark.parametrize("url", ["https://evil.example\\@github.com/o/r.git", "https://git hub.com/o/r",
                                 "git@github.com_x:o/r.git"])
def test_an_ambiguous_host_is_refused_without_showing_credentials(url):
    with pytest.raises(git_url.GitUrlError):
        git_url.host(url)


@pytest.mark.parametrize("url, on_github", [
    ("git@github.com:o/r.git", True), ("https://www.github.com/o/r", True), ("ssh://git@ssh.github.com:443/o/r", True),
    ("git@github.com.evil.example:o/r.git", False), ("git@evilgithub.com:o/r.git", False),
    ("https://github.com@evil.example/o/r.git", False), ("git@ghe.example.com:o/r.git", False), ("o/r", False),
    ("https://evil.example\\@github.com/o/r.git", False),
])
def test_is_github_is_exact(url, on_github):
    assert git_url.is_github(url) is on_github


@pytest.mark.parametrize("url, same", [
    ("https://api.github.com/repos/o/r/keys?page=2", True),
    ("https://API.github.com:443/repos/o/r/keys?page=2", True),
    ("http://api.github.com/repos/o/r/keys", False),
    ("https://api.github.com:444/repos/o/r/keys", False),
    ("https://api.github.com.evil.example/repos/o/r/keys", False),
    ("https://u@api.github.com/repos/o/r/keys", False),
    ("/repos/o/r/keys?page=2", False),
    ("https://api.github.com:x/", False),
])
def test_same_origin(url, same):
    assert git_url.same_origin(url, "https://api.github.com") is same
