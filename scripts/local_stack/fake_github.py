"""A small, faithful fake of GitHub's REST API for what tidepool.eks needs: repository deploy keys.

Endpoints (https://docs.github.com/en/rest/deploy-keys/deploy-keys), same paths, status codes, bodies:

* ``GET    /repos/{owner}/{repo}/keys``           200, list; ``per_page`` (default 30, max 100) and ``page``;
                                                   ``Link`` header with rel="next"/"last"/"first"/"prev"
* ``POST   /repos/{owner}/{repo}/keys``           201 + the key; 422 "Validation Failed" when the key is
                                                   invalid or already in use (deploy keys are unique
                                                   across all repositories, as on github.com)
* ``GET    /repos/{owner}/{repo}/keys/{key_id}``  200 / 404
* ``DELETE /repos/{owner}/{repo}/keys/{key_id}``  204 / 404
* ``GET    /repos/{owner}/{repo}``                200 / 404;  ``POST /user/repos`` 201 / 422 (creates a bare repo)
* ``GET    /user``                                 200, the token's user

Every API call needs ``Authorization: token <t>`` or ``Bearer <t>`` (401 "Requires authentication" /
"Bad credentials"). A repository exists when ``<root>/<owner>/<repo>.git`` or ``<root>/<repo>.git`` is a
bare git repository (the git daemon of the local stack serves the same directory).

Test hooks outside GitHub's API: ``GET /_fake/health``, ``POST /_fake/reset`` (forget every key, drop queued
failures), ``POST /_fake/fail`` ``{"status": 403|429|502, "headers": {...}, "message": "...", "count": 1}``: the next
``count`` API calls are answered with that status, body message and headers (a rate limit, a bad gateway).
"""
from __future__ import annotations

import argparse
import base64
import binascii
import datetime
import json
import re
import struct
import subprocess
import threading
from pathlib import Path
from urllib.parse import urlencode

from flask import Flask, Response, request

DOCS = "https://docs.github.com/rest/deploy-keys/deploy-keys"
KEY_TYPES = ("ssh-rsa", "ssh-dss", "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
             "ecdsa-sha2-nistp521", "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com")
REPO_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


def parse_public_key(text: str) -> tuple[str, str, str] | None:
    """(type, base64 blob, comment) of an OpenSSH public key line, or None if it is not one."""
    if not isinstance(text, str):
        return None
    parts = text.strip().split(None, 2)
    if len(parts) < 2 or parts[0] not in KEY_TYPES:
        return None
    try:
        blob = base64.b64decode(parts[1], validate=True)
        (n,) = struct.unpack(">I", blob[:4])
        if blob[4:4 + n].decode() != parts[0]:
            return None
    except (binascii.Error, struct.error, UnicodeDecodeError, ValueError):
        return None
    return parts[0], parts[1], parts[2] if len(parts) > 2 else ""


def create_bare_repo(root: Path, name: str, branch: str = "master") -> Path:
    path = Path(root) / f"{name}.git"
    if not (path / "HEAD").exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "init", "-q", "--bare", f"--initial-branch={branch}", str(path)], check=True)
    return path


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def create_app(root: Path, token: str, state_file: Path | None = None, login: str = "tidepool-local") -> Flask:
    app = Flask("fake_github")
    root = Path(root)
    lock = threading.Lock()
    state = {"next_id": 1, "keys": {}}  # keys: {str(id): {..., "repo": "<resolved repo path>"}}
    failures = []  # queued answers of POST /_fake/fail (not persisted)
    if state_file and Path(state_file).exists():
        state.update(json.loads(Path(state_file).read_text()))

    def save():
        if state_file:
            tmp = Path(state_file).with_suffix(".tmp")
            tmp.write_text(json.dumps(state))
            tmp.replace(state_file)

    def reply(body, status=200, headers=None):
        resp = Response(json.dumps(body, indent=2) + "\n" if body is not None else "", status=status,
                        mimetype="application/json")
        resp.headers["Content-Type"] = "application/json; charset=utf-8"
        resp.headers["X-GitHub-Media-Type"] = "github.v3; format=json"
        resp.headers["X-GitHub-Api-Version-Selected"] = "2022-11-28"
        for k, v in (headers or {}).items():
            resp.headers[k] = v
        return resp

    def error(status, message, doc=DOCS, errors=None):
        body = {"message": message, "documentation_url": doc, "status": str(status)}
        if errors is not None:
            body["errors"] = errors
        return reply(body, status)

    def not_found():
        return error(404, "Not Found")

    def find_repo(owner, repo):
        if not (REPO_NAME.match(owner) and REPO_NAME.match(repo)):
            return None
        for cand in (root / owner / f"{repo}.git", root / f"{repo}.git"):
            if (cand / "HEAD").is_file():
                return cand
        return None

    def key_json(rec, owner, repo):
        out = {k: rec[k] for k in ("id", "key", "title", "verified", "created_at", "read_only", "added_by",
                                   "last_used", "enabled")}
        out["url"] = f"{request.host_url}repos/{owner}/{repo}/keys/{rec['id']}"
        return {k: out[k] for k in ("id", "key", "url", "title", "verified", "created_at", "read_only",
                                    "added_by", "last_used", "enabled")}

    def repo_json(path, owner, repo):
        base = request.host_url.rstrip("/")
        return {"id": abs(hash(str(path))) % 10**8, "name": repo, "full_name": f"{owner}/{repo}",
                "owner": {"login": owner, "type": "User"}, "private": True,
                "url": f"{base}/repos/{owner}/{repo}", "clone_url": str(path),
                "default_branch": "master", "permissions": {"admin": True, "push": True, "pull": True}}

    @app.before_request
    def authenticate():
        if request.path.startswith("/_fake/"):
            return None
        header = request.headers.get("Authorization", "")
        if not header:
            return error(401, "Requires authentication", "https://docs.github.com/rest")
        scheme, _, value = header.partition(" ")
        if scheme.lower() not in ("token", "bearer") or value.strip() != token:
            return error(401, "Bad credentials", "https://docs.github.com/rest")
        with lock:
            failure = failures.pop(0) if failures else None
        if failure:
            resp = error(failure["status"], failure.get("message") or "Server Error", "https://docs.github.com/rest")
            resp.headers.update(failure.get("headers") or {})
            return resp
        return None

    @app.post("/_fake/fail")
    def fail():
        body = request.get_json(silent=True) or {}
        with lock:
            failures.extend([body] * int(body.get("count", 1)))
        return reply(None, 204)

    @app.get("/_fake/health")
    def health():
        return reply({"ok": True})

    @app.post("/_fake/reset")
    def reset():
        with lock:
            state["keys"] = {}
            failures.clear()
            save()
        return reply(None, 204)

    @app.get("/user")
    def user():
        return reply({"login": login, "id": 1, "type": "User"})

    @app.post("/user/repos")
    def create_repo():
        body = request.get_json(silent=True) or {}
        name = body.get("name")
        if not isinstance(name, str) or not REPO_NAME.match(name):
            return error(422, "Repository creation failed.", "https://docs.github.com/rest/repos/repos",
                         [{"resource": "Repository", "code": "missing_field", "field": "name"}])
        if find_repo(login, name):
            return error(422, "Repository creation failed.", "https://docs.github.com/rest/repos/repos",
                         [{"resource": "Repository", "code": "custom", "field": "name",
                           "message": "name already exists on this account"}])
        path = create_bare_repo(root, name)
        return reply(repo_json(path, login, name), 201)

    @app.get("/repos/<owner>/<repo>")
    def get_repo(owner, repo):
        path = find_repo(owner, repo)
        return reply(repo_json(path, owner, repo)) if path else not_found()

    @app.get("/repos/<owner>/<repo>/keys")
    def list_keys(owner, repo):
        path = find_repo(owner, repo)
        if not path:
            return not_found()
        try:
            per_page = max(1, min(100, int(request.args.get("per_page", 30))))
            page = max(1, int(request.args.get("page", 1)))
        except ValueError:
            per_page, page = 30, 1
        with lock:
            keys = [r for r in state["keys"].values() if r["repo"] == str(path)]
        keys.sort(key=lambda r: r["id"])
        last = max(1, -(-len(keys) // per_page))
        chunk = keys[(page - 1) * per_page: page * per_page]
        links = []
        base = f"{request.host_url}repos/{owner}/{repo}/keys"
        def link(p, rel):
            links.append(f'<{base}?{urlencode({"per_page": per_page, "page": p})}>; rel="{rel}"')
        if page > 1:
            link(page - 1, "prev")
        if page < last:
            link(page + 1, "next")
            link(last, "last")
        if page > 1:
            link(1, "first")
        return reply([key_json(r, owner, repo) for r in chunk], 200, {"Link": ", ".join(links)} if links else None)

    @app.post("/repos/<owner>/<repo>/keys")
    def create_key(owner, repo):
        path = find_repo(owner, repo)
        if not path:
            return not_found()
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return error(400, "Problems parsing JSON", "https://docs.github.com/rest/deploy-keys/deploy-keys#create-a-deploy-key")
        doc = DOCS + "#create-a-deploy-key"
        if "key" not in body or body.get("key") in (None, ""):
            return error(422, "Invalid request.\n\n\"key\" wasn't supplied.", doc)
        title = body.get("title")
        if title is not None and not isinstance(title, str):
            return error(422, "Invalid request.\n\nFor 'properties/title', %s is not a string." % json.dumps(title), doc)
        read_only = body.get("read_only", False)
        if not isinstance(read_only, bool):
            return error(422, "Invalid request.\n\nFor 'properties/read_only', %s is not a boolean." % json.dumps(read_only), doc)
        parsed = parse_public_key(body["key"])
        if not parsed:
            return error(422, "Validation Failed", doc, [{
                "resource": "PublicKey", "code": "custom", "field": "key",
                "message": "key is invalid. You must supply a key in OpenSSH public key format"}])
        ktype, blob, comment = parsed
        with lock:
            if any(r["key"] == f"{ktype} {blob}" for r in state["keys"].values()):
                return error(422, "Validation Failed", doc, [{
                    "resource": "PublicKey", "code": "custom", "field": "key", "message": "key is already in use"}])
            rec = {"id": state["next_id"], "key": f"{ktype} {blob}", "title": title if title else comment,
                   "verified": True, "created_at": _now(), "read_only": read_only, "added_by": login,
                   "last_used": None, "enabled": True, "repo": str(path)}
            state["next_id"] += 1
            state["keys"][str(rec["id"])] = rec
            save()
        resp = reply(key_json(rec, owner, repo), 201)
        resp.headers["Location"] = key_json(rec, owner, repo)["url"]
        return resp

    def lookup(owner, repo, key_id):
        path = find_repo(owner, repo)
        rec = state["keys"].get(str(key_id)) if path else None
        return rec if rec and rec["repo"] == str(path) else None

    @app.get("/repos/<owner>/<repo>/keys/<int:key_id>")
    def get_key(owner, repo, key_id):
        rec = lookup(owner, repo, key_id)
        return reply(key_json(rec, owner, repo)) if rec else not_found()

    @app.delete("/repos/<owner>/<repo>/keys/<int:key_id>")
    def delete_key(owner, repo, key_id):
        with lock:
            rec = lookup(owner, repo, key_id)
            if not rec:
                return not_found()
            del state["keys"][str(key_id)]
            save()
        return reply(None, 204)

    @app.errorhandler(404)
    def any_404(_exc):
        return not_found()

    @app.errorhandler(405)
    def any_405(_exc):
        return error(404, "Not Found")

    return app


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--root", required=True, help="directory of the bare repositories")
    parser.add_argument("--token", required=True)
    parser.add_argument("--state-file")
    args = parser.parse_args(argv)
    from werkzeug.serving import run_simple
    app = create_app(Path(args.root), args.token, Path(args.state_file) if args.state_file else None)
    run_simple(args.host, args.port, app, threaded=True)


if __name__ == "__main__":
    main()
