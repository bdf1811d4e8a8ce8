# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Core of tidepool.eks.github_deploy_key: one deploy key on one repository, through GitHub's REST API.

GitHub's documented behaviour (https://docs.github.com/en/rest/deploy-keys/deploy-keys) this relies on:

* ``GET /repos/{owner}/{repo}/keys`` is paginated (``per_page`` up to 100, ``Link`` header ``rel="next"``, a
  link on the same API host: a link to any other scheme, host or port is refused, never followed with the token);
* ``POST /repos/{owner}/{repo}/keys`` answers 201 with the key, or 422 ``Validation Failed`` with
  ``errors[].message`` ``key is already in use`` (a key can be a deploy key of one repository only, and is
  then also refused when it is already on this one) or ``key is invalid``;
* a deploy key cannot be edited: a title or ``read_only`` change is a delete (204) and a create;
* 401 bad or missing token, 403 no admin rights or rate limited, 404 unknown repository *or* one the token
  cannot see;
* rate limits (https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api): a secondary
  rate limit answers 403 or 429, with ``retry-after`` (seconds) when GitHub says how long to wait; an exhausted
  primary limit answers 403/429 with ``x-ratelimit-remaining: 0`` and ``x-ratelimit-reset`` (epoch seconds).

Rate-limited and 5xx answers are retried (:data:`RETRIES` times) with exponential backoff (:data:`BACKOFF` s,
doubled each time, at most :data:`MAX_WAIT` s), honouring ``retry-after`` / ``x-ratelimit-reset`` when they fit in
:data:`MAX_WAIT`; a rate limit is reported as one, never as missing admin rights.

The token goes only to the API base URL (:func:`api_url_for`): ``https://api.github.com`` for a repository on
github.com (its host exactly, parsed by :mod:`repository.git_url`) or an ``owner/name``, else the ``api_url``
given explicitly (GitHub Enterprise); a repository on any other host (``git@github.com.evil.example:o/r.git``)
without an explicit ``api_url`` is refused, nothing is sent. Redirects and pagination stay on that origin.

Keys are compared by material (``type base64``; GitHub drops the comment), over every page. The HTTP call is
injected (``request(method, url, body) -> (status, headers, json)``), so the unit tests use GitHub's documented
answers and the module shell uses Ansible's ``open_url``.
"""
from __future__ import annotations

import re
import time
from urllib.parse import urlparse

from ansible_collections.tidepool.eks.plugins.module_utils.common.errors import TidepoolError
from ansible_collections.tidepool.eks.plugins.module_utils.common import ssh_public_key
from ansible_collections.tidepool.eks.plugins.module_utils.repository import credentials, git_url

GITHUB_API = "https://api.github.com"
PER_PAGE = 100
#: Safety stop for pagination (100 pages x 100 keys); GitHub itself caps deploy keys per repository far lower.
MAX_PAGES = 100

#: Retries of a rate-limited or 5xx answer; first wait in seconds (doubled each retry); longest single wait.
RETRIES = 5
BACKOFF = 1.0
MAX_WAIT = 60.0

_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
#: Redirects followed (to the API's own origin only), e.g. GitHub's 301 for a renamed repository.
REDIRECTS = (301, 302, 307, 308)
MAX_REDIRECTS = 3
_LINK_RE = re.compile(r'<([^>]+)>\s*;\s*rel="([^"]+)"')


class GitHubError(TidepoolError):
    """A refused or failed call; one sentence naming the repository and what to do."""


def _shown(url: str) -> str:
    """``url`` without credentials or query string, for a message."""
    return credentials.split(str(url or "")).public.split("?", 1)[0][:200]


def parse_repository(value: str) -> tuple[str, str, str | None]:
    """``(owner, name, host)`` of ``owner/name`` or a git URL (``git@host:o/r.git``, ``ssh://[user@]host[:port]/o/r.git``,
    ``https://host/o/r(.git)``, ``git://host/o/r.git``). ``host`` is None for the short form. Raises GitHubError."""
    try:
        host = git_url.host((value or "").strip())
    except git_url.GitUrlError as exc:
        raise GitHubError(f"repository {exc}") from None
    text = credentials.split((value or "").strip()).public
    if "://" in text:
        path = urlparse(text).path
    elif host:
        path = text.split(":", 1)[1]
    else:
        path = text
    parts = [p for p in path.strip("/").split("/") if p]
    if parts and parts[-1].endswith(".git"):
        parts[-1] = parts[-1][:-4]
    if len(parts) != 2 or not all(_NAME_RE.match(p) for p in parts):
        raise GitHubError(f"repository={value!r} is not owner/name or a git URL of a repository "
                          "(git@github.com:owner/name.git, ssh://, https://).")
    return parts[0], parts[1], host


def api_url_for(explicit: str | None, env_url: str | None, host: str | None) -> str:
    """The API base URL the token is sent to: ``api_url``, else ``$GITHUB_API_URL`` (both configured explicitly,
    e.g. GitHub Enterprise ``https://<host>/api/v3``), else ``https://api.github.com`` for a repository on
    github.com (``host`` exactly one of :data:`git_url.GITHUB_HOSTS`) or without a host (``owner/name``).
    Raises GitHubError for a repository on another host without an explicit API URL: no URL is derived from
    the repository's host, so a look-alike (``github.com.evil.example``) never receives the token."""
    for candidate in (explicit, env_url):
        if candidate:
            url = urlparse(candidate.strip())
            if url.scheme not in ("https", "http") or not url.hostname or url.username or url.password:
                raise GitHubError(f"api_url={credentials.split(candidate).public!r} is not an http(s) URL of a "
                                  "GitHub API (https://api.github.com, or https://<host>/api/v3 for GitHub "
                                  "Enterprise).")
            return candidate.strip().rstrip("/")
    if host is None or host in git_url.GITHUB_HOSTS:
        return GITHUB_API
    raise GitHubError(f"repository is on {host}, not github.com: the token is sent only to api.github.com or to the "
                      f"GitHub Enterprise API given as api_url (e.g. https://{host}/api/v3, or github_api_url in the "
                      "inventory) when that is your GitHub Enterprise server. Nothing was sent.")


def _message(body) -> str:
    if not isinstance(body, dict):
        return ""
    msg = str(body.get("message", "")).replace("\n\n", ": ").strip()
    details = [e.get("message") or e.get("code") for e in body.get("errors") or [] if isinstance(e, dict)]
    details = [d for d in details if d]
    return f"{msg} ({'; '.join(details)})" if details else msg


def rate_limited(status: int, headers: dict, body=None) -> bool:
    """Whether a 403/429 answer is a (primary or secondary) rate limit rather than a permission problem."""
    if status not in (403, 429):
        return False
    headers = headers or {}
    return (status == 429 or "retry-after" in headers or str(headers.get("x-ratelimit-remaining", "")) == "0"
            or "rate limit" in _message(body).lower())


def retry_delay(status: int, headers: dict, body, attempt: int, now: float) -> float | None:
    """Seconds to wait before retry number ``attempt`` (0-based) of an answer, or None when it is final (not
    rate-limited nor 5xx, or GitHub asks for a longer wait than :data:`MAX_WAIT`)."""
    headers = headers or {}
    if not (rate_limited(status, headers, body) or 500 <= status <= 599):
        return None
    delay = min(BACKOFF * 2 ** attempt, MAX_WAIT)
    try:
        if "retry-after" in headers:
            delay = float(headers["retry-after"])
        elif str(headers.get("x-ratelimit-remaining", "")) == "0" and headers.get("x-ratelimit-reset"):
            delay = max(0.0, float(headers["x-ratelimit-reset"]) - now)
    except (TypeError, ValueError):
        pass
    return delay if delay <= MAX_WAIT else None


def _errors_say(body, text: str) -> bool:
    return isinstance(body, dict) and any(text in str(e.get("message", "")) for e in body.get("errors") or []
                                          if isinstance(e, dict))


class Repository:
    """Deploy keys of one repository through ``request(method, url, body) -> (status, headers, json)``, retrying
    rate-limited and 5xx answers (``retries``, waiting with ``sleep(seconds)``; ``clock()`` is the epoch time)."""

    def __init__(self, request, api_url: str, owner: str, name: str, *, retries: int = RETRIES,
                 sleep=time.sleep, clock=time.time):
        self.request = request
        self.api_url = api_url.rstrip("/")
        self.owner, self.name = owner, name
        self.full_name = f"{owner}/{name}"
        self.base = f"{self.api_url}/repos/{owner}/{name}/keys"
        self.retries, self.sleep, self.clock = retries, sleep, clock
        self.retried_server_error = False
        self.attempts = 0

    def call(self, method: str, url: str, body=None) -> tuple:
        """``request`` with the retries of the module docstring, following a redirect (GitHub's answer for a
        renamed repository) only to the API's own origin; -> the last ``(status, headers, json)``."""
        redirects = 0
        for attempt in range(self.retries + 1):
            self.attempts = attempt + 1
            status, headers, answer = self.request(method, url, body)
            while status in REDIRECTS and redirects < MAX_REDIRECTS:
                location = (headers or {}).get("location", "")
                if not git_url.same_origin(location, self.api_url):
                    raise GitHubError(f"GitHub redirected {method} {self.full_name} to {_shown(location) or 'nowhere'}, "
                                      f"outside the API {self.api_url}; refusing to send the token there.")
                redirects += 1
                url = location
                status, headers, answer = self.request(method, url, body)
            delay = retry_delay(status, headers, answer, attempt, self.clock()) if attempt < self.retries else None
            if delay is None:
                return status, headers, answer
            self.retried_server_error = self.retried_server_error or status >= 500
            self.sleep(delay)
        return status, headers, answer  # not reached

    def fail(self, status: int, headers: dict, body, doing: str):
        msg = _message(body)
        headers = headers or {}
        if status == 401:
            raise GitHubError(f"GitHub rejected the token while {doing} {self.full_name} (401 {msg or 'Bad credentials'}); "
                              "check token or GITHUB_TOKEN.")
        if rate_limited(status, headers, body):
            when = (f"retry after {headers['retry-after']} s" if "retry-after" in headers else
                    f"retry after the reset time ({headers['x-ratelimit-reset']}, epoch seconds)"
                    if "x-ratelimit-reset" in headers else "retry later")
            raise GitHubError(f"GitHub's rate limit stopped {doing} {self.full_name} ({status} {msg or 'rate limited'}) "
                              f"after {self.attempts} attempt(s); {when}. This is not a permission problem.")
        if status == 403:
            raise GitHubError(f"GitHub refused {doing} {self.full_name} (403 {msg}): the token needs admin rights on the "
                              "repository (classic token scope 'repo', or fine-grained 'Administration: read and write').")
        if status == 404:
            raise GitHubError(f"Repository {self.full_name} not found at {self.api_url} (404), or the token cannot see it "
                              "(GitHub answers 404 for private repositories without access); check repository, api_url "
                              "and the token's access.")
        retried = f" (after {self.attempts} attempts)" if status >= 500 else ""
        raise GitHubError(f"GitHub answered {status} while {doing} {self.full_name}{retried}: {msg or 'no message'}.")

    def list_keys(self) -> list:
        """Every deploy key of the repository, following ``Link: rel="next"`` over all pages."""
        url = f"{self.base}?per_page={PER_PAGE}"
        keys = []
        for _page in range(MAX_PAGES):
            status, headers, body = self.call("GET", url)
            if status != 200:
                self.fail(status, headers, body, "listing the deploy keys of")
            if not isinstance(body, list):
                raise GitHubError(f"GitHub answered the key list of {self.full_name} with a non-list body; is api_url "
                                  f"({self.api_url}) a GitHub API?")
            keys.extend(body)
            links = dict((rel, link) for link, rel in _LINK_RE.findall((headers or {}).get("link", "")))
            if "next" not in links:
                return keys
            url = links["next"]
            if not git_url.same_origin(url, self.api_url):
                raise GitHubError(f"GitHub's next page of the deploy keys of {self.full_name} is at {_shown(url)}, "
                                  f"outside the API {self.api_url}; refusing to send the token there.")
        raise GitHubError(f"More than {MAX_PAGES} pages of deploy keys on {self.full_name}; refusing to go on.")

    def create(self, key: str, title: str, read_only: bool) -> dict:
        self.retried_server_error = False
        status, headers, body = self.call("POST", self.base, {"title": title, "key": key, "read_only": read_only})
        if status == 201:
            return body
        if status == 422 and _errors_say(body, "key is already in use") and self.retried_server_error:
            # a POST answered 5xx may have been applied: the key in use may be the one it added here
            for existing in self.list_keys():
                if _same_material(existing.get("key", ""), key):
                    return existing
        if status == 422 and _errors_say(body, "key is already in use"):
            raise GitHubError(f"GitHub refused the deploy key for {self.full_name}: key is already in use, as a deploy key "
                              "of another repository or as a user's SSH key (GitHub allows one repository per deploy "
                              "key); remove it there, or use another key (flux_bootstrap rotate_deploy_key: true).")
        if status == 422:
            raise GitHubError(f"GitHub refused the deploy key for {self.full_name} (422 {_message(body)}).")
        self.fail(status, headers, body, "adding a deploy key to")
        return {}  # not reached

    def delete(self, key_id) -> None:
        status, headers, body = self.call("DELETE", f"{self.base}/{key_id}")
        if status not in (204, 404):
            self.fail(status, headers, body, "deleting a deploy key of")


def _same_material(a: str, b: str) -> bool:
    try:
        return ssh_public_key.material(a) == ssh_public_key.material(b)
    except ssh_public_key.SSHKeyError:
        return False


def _view(key: dict | None) -> dict | None:
    if not key:
        return None
    out = {k: key.get(k) for k in ("id", "title", "read_only", "url", "created_at", "verified")}
    try:
        out["fingerprint"] = ssh_public_key.fingerprint(key.get("key", ""))
    except ssh_public_key.SSHKeyError:
        out["fingerprint"] = None
    return out


def ensure(repo: Repository, key: str, title: str, read_only: bool, state: str, check_mode: bool,
           supersede: bool = False) -> dict:
    """Make the repository hold ``key`` once with ``title`` and ``read_only`` (or not at all for ``absent``).

    ``supersede`` (``present`` only): also delete every other deploy key of the repository titled ``title`` - the
    earlier keys of the same owner, e.g. the Flux key of a cluster that was lost and rebuilt, which would otherwise
    keep its access. Deleted after ``key`` is in place, so a failure never leaves the repository without a key.

    Returns ``{"changed", "operation" (none|create|replace|delete), "key" (id, title, read_only, url, fingerprint;
    the id is known also when nothing changed, and null when a create is only predicted), "superseded" (the views of
    the keys deleted, or in check mode to delete, by ``supersede``), "diff"}``.
    Check mode lists keys only: it neither creates nor deletes.
    """
    try:
        wanted = ssh_public_key.material(key)
    except ssh_public_key.SSHKeyError as exc:
        raise GitHubError(f"key: {exc}.") from None
    matches, same_title = [], []
    for k in repo.list_keys():
        try:
            if ssh_public_key.material(k.get("key", "")) == wanted:
                matches.append(k)
                continue
        except ssh_public_key.SSHKeyError:
            pass
        if supersede and state == "present" and k.get("title") == title:
            same_title.append(k)
    superseded = [_view(k) for k in same_title]
    current = matches[0] if matches else None
    want_view = {"title": title, "read_only": read_only, "fingerprint": ssh_public_key.fingerprint(wanted)}
    before = {k: v for k, v in (_view(current) or {}).items() if k in want_view} if current else {}

    if state == "absent":
        if not matches:
            return {"changed": False, "operation": "none", "key": None, "superseded": [],
                    "diff": {"before": {}, "after": {}}}
        if not check_mode:
            for k in matches:
                repo.delete(k["id"])
        return {"changed": True, "operation": "delete", "key": _view(current), "superseded": [],
                "diff": {"before": before, "after": {}}}

    if current and current.get("title") == title and bool(current.get("read_only")) == read_only and len(matches) == 1:
        if superseded and not check_mode:
            for k in same_title:
                repo.delete(k["id"])
        return {"changed": bool(superseded), "operation": "none", "key": _view(current), "superseded": superseded,
                "diff": {"before": before, "after": before}}
    action = "replace" if current else "create"
    if check_mode:
        predicted = dict(want_view, id=None, url=None)
        return {"changed": True, "operation": action, "key": predicted, "superseded": superseded,
                "diff": {"before": before, "after": want_view}}
    for k in matches:
        repo.delete(k["id"])
    try:
        created = repo.create(wanted, title, read_only)
    except GitHubError as exc:
        if matches:
            raise GitHubError(f"{exc} The old deploy key (id {current['id']}) was already deleted to replace it; "
                              "run again to add the key.") from None
        raise
    for k in same_title:
        repo.delete(k["id"])
    return {"changed": True, "operation": action, "key": _view(created), "superseded": superseded,
            "diff": {"before": before, "after": want_view}}
