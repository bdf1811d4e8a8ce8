"""Unit tests of the github_deploy_key core against GitHub's documented answers
(https://docs.github.com/en/rest/deploy-keys/deploy-keys): a scripted API in memory, no network."""
from __future__ import annotations

import re

import pytest

from ansible_collections.tidepool.eks.plugins.module_utils.github import deploy_key as gh
from ansible_collections.tidepool.eks.plugins.module_utils.crypto import ssh_keys

API = "https://api.github.com"
DOCS = "https://docs.github.com/rest/deploy-keys/deploy-keys#create-a-deploy-key"


def pub(comment=""):
    return ssh_keys.generate("ed25519", comment=comment)[1]


class GitHubAPI:
    """Deploy keys of one repository as GitHub documents them: Link pagination, 201/204/404/422 bodies."""

    def __init__(self, owner="tidepool-org", name="cluster-t1", keys=None, in_use_elsewhere=(), status=None):
        self.prefix = f"{API}/repos/{owner}/{name}/keys"
        self.keys = list(keys or [])
        self.next_id = 1000
        self.in_use = {ssh_keys.material(k) for k in in_use_elsewhere}
        self.status = status            # force every answer to (status, body, headers)
        self.calls = []

    def add(self, key, title, read_only=False):
        self.next_id += 1
        rec = {"id": self.next_id, "key": ssh_keys.material(key), "url": f"{self.prefix}/{self.next_id}",
               "title": title, "verified": True, "created_at": "2026-01-01T00:00:00Z", "read_only": read_only,
               "added_by": "octocat", "last_used": None, "enabled": True}
        self.keys.append(rec)
        return rec

    def __call__(self, method, url, body):
        self.calls.append((method, url))
        if self.status:
            status, payload, headers = self.status
            return status, headers, payload
        if not url.startswith(self.prefix):
            return 404, {}, {"message": "Not Found", "documentation_url": DOCS, "status": "404"}
        rest = url[len(self.prefix):]
        if method == "GET":
            q = dict(re.findall(r"[?&](\w+)=(\d+)", rest))
            per_page, page = int(q.get("per_page", 30)), int(q.get("page", 1))
            chunk = self.keys[(page - 1) * per_page: page * per_page]
            last = max(1, -(-len(self.keys) // per_page))
            links = []
            if page < last:
                links.append(f'<{self.prefix}?per_page={per_page}&page={page + 1}>; rel="next"')
                links.append(f'<{self.prefix}?per_page={per_page}&page={last}>; rel="last"')
            return 200, ({"link": ", ".join(links)} if links else {}), chunk
        if method == "POST":
            material = ssh_keys.material(body["key"])
            if material in self.in_use or any(k["key"] == material for k in self.keys):
                return 422, {}, {"message": "Validation Failed", "errors": [
                    {"resource": "PublicKey", "code": "custom", "field": "key", "message": "key is already in use"}],
                    "documentation_url": DOCS, "status": "422"}
            return 201, {}, self.add(body["key"], body["title"], body["read_only"])
        if method == "DELETE":
            key_id = int(rest.strip("/"))
            before = len(self.keys)
            self.keys = [k for k in self.keys if k["id"] != key_id]
            return (204, {}, None) if len(self.keys) < before else (404, {}, {"message": "Not Found"})
        raise AssertionError(method)

    def writes(self):
        return [c for c in self.calls if c[0] != "GET"]


def repo(api, sleeps=None):
    return gh.Repository(api, API, "tidepool-org", "cluster-t1", sleep=(sleeps if sleeps is not None else []).append,
                         clock=lambda: 1_700_000_000.0)


def test_create_then_unchanged_with_id():
    api = GitHubAPI()
    key = pub("flux@t1")
    first = gh.ensure(repo(api), key, "flux key for t1", False, "present", check_mode=False)
    assert first["changed"] and first["operation"] == "create" and len(api.keys) == 1
    second = gh.ensure(repo(api), key, "flux key for t1", False, "present", check_mode=False)
    assert not second["changed"] and second["key"]["id"] == first["key"]["id"] == api.keys[0]["id"]
    assert second["key"]["fingerprint"] == ssh_keys.fingerprint(key)
    assert len(api.writes()) == 1


def test_match_on_the_third_page_is_found():
    api = GitHubAPI()
    for _ in range(230):
        api.add(pub(), "other")
    key = pub()
    rec = api.add(key, "flux key for t1")
    result = gh.ensure(repo(api), key, "flux key for t1", False, "present", check_mode=False)
    assert not result["changed"] and result["key"]["id"] == rec["id"]
    assert sum(1 for m, _ in api.calls if m == "GET") == 3 and api.writes() == []


def test_comment_is_ignored_when_comparing():
    api = GitHubAPI()
    key = pub("one-comment")
    api.add(key, "flux key for t1")
    other_comment = " ".join(key.split()[:2]) + " another@host"
    assert not gh.ensure(repo(api), other_comment, "flux key for t1", False, "present", False)["changed"]


@pytest.mark.parametrize("title, read_only", [("renamed", False), ("flux key for t1", True)])
def test_drift_is_replaced(title, read_only):
    api = GitHubAPI()
    key = pub()
    old = api.add(key, "flux key for t1", False)
    result = gh.ensure(repo(api), key, title, read_only, "present", check_mode=False)
    assert result["changed"] and result["operation"] == "replace"
    assert [(k["title"], k["read_only"]) for k in api.keys] == [(title, read_only)]
    assert api.keys[0]["id"] != old["id"] and result["key"]["id"] == api.keys[0]["id"]
    assert result["diff"]["before"]["title"] == "flux key for t1" and result["diff"]["after"]["title"] == title


def test_supersede_deletes_the_earlier_keys_of_the_same_title_after_the_new_one_is_in_place():
    """A lost and rebuilt cluster: its earlier Flux key (same title, other material) loses its access; keys of other
    titles (another cluster's Flux, a CI key) stay; without supersede nothing but the key itself is touched."""
    api = GitHubAPI()
    lost = api.add(pub(), "flux key for t1")
    other_cluster = api.add(pub(), "flux key for t2")
    ci = api.add(pub(), "ci read access", True)
    new = pub()
    kept = gh.ensure(repo(api), new, "flux key for t1", False, "present", check_mode=False)
    assert kept["superseded"] == [] and lost in api.keys          # default: no supersede
    api = GitHubAPI(keys=[lost, other_cluster, ci])
    api.next_id = 2000                                               # ids unique across both scripted APIs
    result = gh.ensure(repo(api), new, "flux key for t1", False, "present", check_mode=False, supersede=True)
    assert result["changed"] and result["operation"] == "create"
    assert [k["id"] for k in result["superseded"]] == [lost["id"]]
    assert {k["title"] for k in api.keys} == {"flux key for t1", "flux key for t2", "ci read access"}
    assert [ssh_keys.material(new)] == [k["key"] for k in api.keys if k["title"] == "flux key for t1"]
    # the new key was created before the old one was deleted: the repository never had no key of t1
    writes = api.writes()
    assert writes[0][0] == "POST" and writes[1] == ("DELETE", f"{api.prefix}/{lost['id']}")
    # rerun: nothing left to supersede, nothing written
    again = gh.ensure(repo(api), new, "flux key for t1", False, "present", check_mode=False, supersede=True)
    assert not again["changed"] and again["superseded"] == [] and api.writes() == writes


def test_supersede_with_the_key_already_present_and_in_check_mode():
    api = GitHubAPI()
    key = pub()
    api.add(key, "flux key for t1")
    lost = api.add(pub(), "flux key for t1")
    predicted = gh.ensure(repo(api), key, "flux key for t1", False, "present", check_mode=True, supersede=True)
    assert predicted["changed"] and [k["id"] for k in predicted["superseded"]] == [lost["id"]]
    assert api.writes() == [] and len(api.keys) == 2
    done = gh.ensure(repo(api), key, "flux key for t1", False, "present", check_mode=False, supersede=True)
    assert done["changed"] and done["operation"] == "none" and [k["title"] for k in api.keys] == ["flux key for t1"]
    assert ssh_keys.material(key) == api.keys[0]["key"]


def test_check_mode_neither_creates_nor_deletes():
    api = GitHubAPI()
    key = pub()
    api.add(key, "old title")
    predicted = gh.ensure(repo(api), key, "flux key for t1", False, "present", check_mode=True)
    assert predicted["changed"] and predicted["operation"] == "replace"
    gone = gh.ensure(repo(api), key, "x", False, "absent", check_mode=True)
    assert gone["changed"] and gone["operation"] == "delete"
    new = gh.ensure(repo(api), pub(), "t", False, "present", check_mode=True)
    assert new["operation"] == "create" and new["key"]["id"] is None
    assert api.writes() == [] and len(api.keys) == 1


def test_absent_removes_every_copy():
    api = GitHubAPI()
    key = pub()
    api.add(key, "a")
    api.keys.append(dict(api.keys[0], id=5, title="b"))  # GitHub would refuse it; a repo migrated from elsewhere might not
    result = gh.ensure(repo(api), key, "a", False, "absent", check_mode=False)
    assert result["changed"] and api.keys == []
    assert not gh.ensure(repo(api), key, "a", False, "absent", check_mode=False)["changed"]


def test_key_in_use_on_another_repository():
    key = pub()
    api = GitHubAPI(in_use_elsewhere=[key])
    with pytest.raises(gh.GitHubError) as err:
        gh.ensure(repo(api), key, "flux key for t1", False, "present", check_mode=False)
    assert "key is already in use" in str(err.value) and "rotate_deploy_key" in str(err.value)


def test_invalid_key_is_an_error_naming_key():
    with pytest.raises(gh.GitHubError, match="^key: "):
        gh.ensure(repo(GitHubAPI()), "not a key", "t", False, "present", False)


def test_422_invalid_from_github_is_reported():
    body = {"message": "Validation Failed", "errors": [{"resource": "PublicKey", "code": "custom", "field": "key",
                                                         "message": "key is invalid. You must supply a key in OpenSSH public key format"}],
            "documentation_url": DOCS}

    def api(method, url, _body):
        return (200, {}, []) if method == "GET" else (422, {}, body)
    with pytest.raises(gh.GitHubError, match="422 Validation Failed .key is invalid"):
        gh.ensure(repo(api), pub(), "t", False, "present", False)


@pytest.mark.parametrize("status, body, headers, fragment", [
    (401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}, {},
     "GitHub rejected the token while listing the deploy keys of tidepool-org/cluster-t1 (401 Bad credentials); check token or GITHUB_TOKEN."),
    (404, {"message": "Not Found", "documentation_url": DOCS}, {},
     "Repository tidepool-org/cluster-t1 not found at https://api.github.com (404), or the token cannot see it"),
    (403, {"message": "Must have admin rights to Repository."}, {"x-ratelimit-remaining": "4999"},
     "needs admin rights"),
    (403, {"message": "API rate limit exceeded"}, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1700000000"},
     "rate limit stopped listing the deploy keys of tidepool-org/cluster-t1 (403 API rate limit exceeded)"),
])
def test_http_errors(status, body, headers, fragment):
    api = GitHubAPI(status=(status, body, headers))
    with pytest.raises(gh.GitHubError) as err:
        gh.ensure(repo(api), pub(), "t", False, "present", False)
    assert fragment in str(err.value)


@pytest.mark.parametrize("value, expected", [
    ("tidepool-org/cluster-t1", ("tidepool-org", "cluster-t1", None)),
    ("git@github.com:tidepool-org/cluster-t1.git", ("tidepool-org", "cluster-t1", "github.com")),
    ("ssh://git@github.com/tidepool-org/cluster-t1.git", ("tidepool-org", "cluster-t1", "github.com")),
    ("ssh://git@ghe.example.com:2222/team/repo.git", ("team", "repo", "ghe.example.com")),
    ("https://github.com/tidepool-org/cluster-t1", ("tidepool-org", "cluster-t1", "github.com")),
    ("https://ghe.example.com/team/repo.git/", ("team", "repo", "ghe.example.com")),
    ("ghe.example.com:team/repo.git", ("team", "repo", "ghe.example.com")),
    ("https://bot:s3cret@GitHub.com/tidepool-org/cluster-t1.git", ("tidepool-org", "cluster-t1", "github.com")),
])
def test_repository_forms(value, expected):
    assert gh.parse_repository(value) == expected


@pytest.mark.parametrize("value", ["cluster-t1", "a/b/c", "https://github.com/only-owner", "", "a b/c"])
def test_bad_repository(value):
    with pytest.raises(gh.GitHubError, match="repository="):
        gh.parse_repository(value)


def test_api_url_forms():
    assert gh.api_url_for(None, None, None) == "https://api.github.com"
    assert gh.api_url_for(None, None, "github.com") == "https://api.github.com"
    assert gh.api_url_for(None, "http://127.0.0.1:18080/", "github.com") == "http://127.0.0.1:18080"
    assert gh.api_url_for("https://ghe.example.com/api/v3/", "http://x", None) == "https://ghe.example.com/api/v3"
    r = gh.Repository(lambda *a: None, "https://ghe.example.com/api/v3", "team", "repo")
    assert r.base == "https://ghe.example.com/api/v3/repos/team/repo/keys"


# --- the token goes to api.github.com or the configured API only ----------------------------------------------------

@pytest.mark.parametrize("value", [
    "git@github.com.evil.example:tidepool-org/cluster-t1.git",
    "ssh://git@github.com.evil.example/tidepool-org/cluster-t1.git",
    "https://github.com.evil.example/tidepool-org/cluster-t1.git",
    "https://github.com@evil.example/tidepool-org/cluster-t1.git",   # userinfo "github.com", host evil.example
    "https://evil.example/github.com/cluster-t1",
    "git@evilgithub.com:tidepool-org/cluster-t1.git",
    "git@api.github.com.evil.example:tidepool-org/cluster-t1.git",
])
def test_a_look_alike_host_gets_no_token_without_an_explicit_api_url(value):
    owner, name, host = gh.parse_repository(value)
    assert host not in ("github.com", "www.github.com", "ssh.github.com")
    with pytest.raises(gh.GitHubError, match=f"repository is on {re.escape(host)}, not github.com.*Nothing was sent"):
        gh.api_url_for(None, None, host)


def test_an_authority_git_and_python_read_differently_is_refused():
    with pytest.raises(gh.GitHubError, match="cannot be read unambiguously"):
        gh.parse_repository("https://evil.example\\@github.com/tidepool-org/cluster-t1.git")


def test_github_enterprise_only_as_configured_exactly():
    assert gh.api_url_for("https://ghe.example.com/api/v3", None, "ghe.example.com") == "https://ghe.example.com/api/v3"
    with pytest.raises(gh.GitHubError, match="repository is on ghe.example.com"):
        gh.api_url_for(None, None, "ghe.example.com")   # never derived from the repository's host
    for bad in ("ftp://ghe.example.com/api/v3", "ghe.example.com/api/v3", "https://u:p@ghe.example.com/api/v3"):
        with pytest.raises(gh.GitHubError, match="is not an http"):
            gh.api_url_for(bad, None, "ghe.example.com")


@pytest.mark.parametrize("link", [
    "https://api.github.com.evil.example/repos/tidepool-org/cluster-t1/keys?page=2",
    "http://api.github.com/repos/tidepool-org/cluster-t1/keys?page=2",         # another scheme
    "https://api.github.com:8443/repos/tidepool-org/cluster-t1/keys?page=2",   # another port
    "https://evil.example/?page=2",
    "https://x@api.github.com/repos/tidepool-org/cluster-t1/keys?page=2",
])
def test_pagination_never_leaves_the_api_host(link):
    calls = []

    def api(method, url, body):
        calls.append(url)
        return 200, {"link": f'<{link}>; rel="next"'}, [{"id": 1, "key": pub(), "title": "x"}]

    with pytest.raises(gh.GitHubError, match=f"next page .* is at .*outside the API {API}; refusing"):
        repo(api).list_keys()
    assert calls == [f"{API}/repos/tidepool-org/cluster-t1/keys?per_page=100"]   # the link was not requested


def test_pagination_on_the_api_host_is_followed():
    api = GitHubAPI()
    for _ in range(101):
        api.add(pub(), "other")
    assert len(repo(api).list_keys()) == 101 and len(api.calls) == 2


def test_a_redirect_is_followed_on_the_api_origin_only():
    moved = f"{API}/repositories/42/keys?per_page=100"
    answers = {f"{API}/repos/tidepool-org/cluster-t1/keys?per_page=100": (301, {"location": moved}, None),
               moved: (200, {}, [])}
    calls = []

    def api(method, url, body):
        calls.append(url)
        return answers[url]

    assert repo(api).list_keys() == [] and calls[-1] == moved
    answers[f"{API}/repos/tidepool-org/cluster-t1/keys?per_page=100"] = (
        302, {"location": "https://evil.example/keys"}, None)
    calls.clear()
    with pytest.raises(gh.GitHubError, match="redirected GET tidepool-org/cluster-t1 to https://evil.example/keys"):
        repo(api).list_keys()
    assert calls == [f"{API}/repos/tidepool-org/cluster-t1/keys?per_page=100"]


# --- rate limits and 5xx: retried with bounded backoff, never read as missing admin rights ------------------------

SECONDARY = {"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
             "documentation_url": "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api"}


class Flaky(GitHubAPI):
    """Answers the first calls of ``method`` with ``failures`` (``(status, headers, body)`` each), then normally."""

    def __init__(self, method, failures, apply_post=False):
        super().__init__()
        self.method, self.failures, self.apply_post = method, list(failures), apply_post

    def __call__(self, method, url, body):
        if method == self.method and self.failures:
            status, headers, payload = self.failures.pop(0)
            if self.apply_post:  # the server applied the POST, then its gateway answered 5xx
                super().__call__(method, url, body)
            self.calls.append((method, url))
            return status, headers, payload
        return super().__call__(method, url, body)


@pytest.mark.parametrize("failure, waits", [
    ((403, {"retry-after": "7", "x-ratelimit-remaining": "4000"}, SECONDARY), [7.0]),
    ((429, {"retry-after": "3"}, SECONDARY), [3.0]),
    ((403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1700000012"}, {"message": "API rate limit exceeded"}),
     [12.0]),
    ((502, {}, {"message": "Server Error"}), [1.0]),
])
def test_rate_limit_or_5xx_once_is_retried_after_the_wait_github_asks(failure, waits):
    api, sleeps = Flaky("POST", [failure]), []
    result = gh.ensure(repo(api, sleeps), pub(), "t", False, "present", False)
    assert result["operation"] == "create" and len(api.keys) == 1
    assert sleeps == waits


def test_5xx_backoff_is_exponential_and_bounded():
    api, sleeps = Flaky("GET", [(503, {}, None)] * 10), []
    with pytest.raises(gh.GitHubError, match=r"GitHub answered 503 while listing .* \(after 6 attempts\)"):
        gh.ensure(repo(api, sleeps), pub(), "t", False, "present", False)
    assert sleeps == [1.0, 2.0, 4.0, 8.0, 16.0]


def test_a_persistent_secondary_rate_limit_is_not_reported_as_missing_admin_rights():
    api, sleeps = Flaky("GET", [(403, {"retry-after": "2"}, SECONDARY)] * 10), []
    with pytest.raises(gh.GitHubError) as err:
        gh.ensure(repo(api, sleeps), pub(), "t", False, "present", False)
    assert "rate limit stopped listing the deploy keys" in str(err.value) and "retry after 2 s" in str(err.value)
    assert "admin" not in str(err.value) and sleeps == [2.0] * 5


def test_a_wait_longer_than_max_wait_is_not_slept_but_reported():
    api, sleeps = Flaky("GET", [(429, {"retry-after": "3600"}, SECONDARY)]), []
    with pytest.raises(gh.GitHubError, match="after 1 attempt.*retry after 3600 s"):
        gh.ensure(repo(api, sleeps), pub(), "t", False, "present", False)
    assert sleeps == []


def test_a_plain_403_is_not_retried_and_names_admin_rights():
    api, sleeps = Flaky("GET", [(403, {"x-ratelimit-remaining": "4999"}, {"message": "Must have admin rights"})]), []
    with pytest.raises(gh.GitHubError, match="needs admin rights"):
        gh.ensure(repo(api, sleeps), pub(), "t", False, "present", False)
    assert sleeps == [] and len(api.calls) == 1


def test_a_post_applied_before_its_502_is_not_reported_as_key_in_use():
    key = pub()
    api, sleeps = Flaky("POST", [(502, {}, {"message": "Bad Gateway"})], apply_post=True), []
    result = gh.ensure(repo(api, sleeps), key, "flux key for t1", False, "present", False)
    assert result["operation"] == "create" and result["key"]["id"] == api.keys[0]["id"] and len(api.keys) == 1
