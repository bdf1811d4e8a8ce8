"""The fake GitHub deploy-key API behaves like GitHub's (docs.github.com/en/rest/deploy-keys/deploy-keys)."""
import base64
import struct

import pytest

from local_stack.fake_github import create_app, create_bare_repo, parse_public_key

TOKEN = "t0ken"
AUTH = {"Authorization": f"token {TOKEN}"}
KEY_FIELDS = {"id", "key", "url", "title", "verified", "created_at", "read_only", "added_by", "last_used", "enabled"}


def ssh_key(n: int, comment: str = "") -> str:
    """A syntactically valid ssh-ed25519 public key, distinct per n."""
    blob = struct.pack(">I", 11) + b"ssh-ed25519" + struct.pack(">I", 32) + n.to_bytes(32, "big")
    return f"ssh-ed25519 {base64.b64encode(blob).decode()}" + (f" {comment}" if comment else "")


@pytest.fixture
def root(tmp_path):
    create_bare_repo(tmp_path / "git", "cluster-local")
    create_bare_repo(tmp_path / "git", "other")
    return tmp_path / "git"


@pytest.fixture
def api(root):
    app = create_app(root, TOKEN)
    return app.test_client()


def post(api, repo, body, headers=AUTH):
    return api.post(f"/repos/tidepool/{repo}/keys", json=body, headers=headers)


def test_auth_required(api):
    r = api.get("/repos/tidepool/cluster-local/keys")
    assert r.status_code == 401 and r.json["message"] == "Requires authentication"
    r = api.get("/repos/tidepool/cluster-local/keys", headers={"Authorization": "token nope"})
    assert r.status_code == 401 and r.json["message"] == "Bad credentials"
    assert api.get("/repos/tidepool/cluster-local/keys", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert api.get("/repos/tidepool/cluster-local/keys", headers=AUTH).status_code == 200


def test_create_get_delete(api):
    r = post(api, "cluster-local", {"title": "flux key for local", "key": ssh_key(1, "me@host"), "read_only": False})
    assert r.status_code == 201
    key = r.json
    assert set(key) == KEY_FIELDS
    assert key["key"] == ssh_key(1)  # GitHub drops the comment
    assert key["title"] == "flux key for local" and key["read_only"] is False
    assert key["verified"] is True and key["enabled"] is True and key["last_used"] is None
    assert key["url"].endswith(f"/repos/tidepool/cluster-local/keys/{key['id']}")
    assert r.headers["Location"] == key["url"]
    assert key["created_at"].endswith("Z")

    got = api.get(f"/repos/tidepool/cluster-local/keys/{key['id']}", headers=AUTH)
    assert got.status_code == 200 and got.json == key
    # The key belongs to one repository only.
    assert api.get(f"/repos/tidepool/other/keys/{key['id']}", headers=AUTH).status_code == 404

    assert api.delete(f"/repos/tidepool/cluster-local/keys/{key['id']}", headers=AUTH).status_code == 204
    r = api.get(f"/repos/tidepool/cluster-local/keys/{key['id']}", headers=AUTH)
    assert r.status_code == 404 and r.json["message"] == "Not Found"
    assert api.delete(f"/repos/tidepool/cluster-local/keys/{key['id']}", headers=AUTH).status_code == 404


def test_read_only_default_and_title_from_comment(api):
    r = post(api, "cluster-local", {"key": ssh_key(2, "flux@cluster")})
    assert r.status_code == 201 and r.json["read_only"] is False and r.json["title"] == "flux@cluster"
    r = post(api, "cluster-local", {"key": ssh_key(3), "read_only": True, "title": "ro"})
    assert r.json["read_only"] is True


def test_422_duplicate_key_across_repositories(api):
    assert post(api, "cluster-local", {"title": "a", "key": ssh_key(4)}).status_code == 201
    for repo in ("cluster-local", "other"):
        r = post(api, repo, {"title": "b", "key": ssh_key(4, "other comment")})
        assert r.status_code == 422
        assert r.json["message"] == "Validation Failed"
        assert r.json["errors"] == [{"resource": "PublicKey", "code": "custom", "field": "key",
                                     "message": "key is already in use"}]
        assert "documentation_url" in r.json


@pytest.mark.parametrize("bad", ["not a key", "ssh-rsa !!!notbase64", ssh_key(5).replace("ssh-ed25519", "ssh-rsa", 1),
                                 "ssh-foo AAAA"])
def test_422_invalid_key(api, bad):
    r = post(api, "cluster-local", {"title": "x", "key": bad})
    assert r.status_code == 422
    assert r.json["errors"][0]["field"] == "key"
    assert "OpenSSH public key format" in r.json["errors"][0]["message"]


def test_422_missing_key_and_bad_types(api):
    r = post(api, "cluster-local", {"title": "x"})
    assert r.status_code == 422 and "\"key\" wasn't supplied" in r.json["message"]
    assert post(api, "cluster-local", {"key": ssh_key(6), "read_only": "yes"}).status_code == 422
    assert post(api, "cluster-local", {"key": ssh_key(6), "title": 5}).status_code == 422


def test_unknown_repository_is_404(api):
    assert api.get("/repos/tidepool/nope/keys", headers=AUTH).status_code == 404
    assert post(api, "nope", {"title": "x", "key": ssh_key(7)}).status_code == 404
    assert api.get("/repos/tidepool/nope", headers=AUTH).status_code == 404
    assert api.get("/repos/tidepool/cluster-local", headers=AUTH).json["full_name"] == "tidepool/cluster-local"


def test_pagination_and_link_header(api):
    ids = [post(api, "cluster-local", {"title": f"k{i}", "key": ssh_key(100 + i)}).json["id"] for i in range(7)]
    r = api.get("/repos/tidepool/cluster-local/keys", headers=AUTH)
    assert [k["id"] for k in r.json] == ids and "Link" not in r.headers  # default per_page 30
    seen = []
    url = "/repos/tidepool/cluster-local/keys?per_page=3"
    pages = 0
    while url:
        r = api.get(url, headers=AUTH)
        assert r.status_code == 200
        seen += [k["id"] for k in r.json]
        pages += 1
        links = dict((part.split("; ")[1][5:-1], part.split("; ")[0][1:-1])
                     for part in r.headers.get("Link", "").split(", ") if part)
        url = links.get("next", "").replace("http://localhost", "") or None
        if pages == 1:
            assert links["last"].endswith("per_page=3&page=3") and "prev" not in links
    assert seen == ids and pages == 3
    r = api.get("/repos/tidepool/cluster-local/keys?per_page=3&page=3", headers=AUTH)
    assert [k["id"] for k in r.json] == ids[6:]
    assert 'rel="prev"' in r.headers["Link"] and 'rel="first"' in r.headers["Link"] and 'rel="next"' not in r.headers["Link"]
    assert api.get("/repos/tidepool/cluster-local/keys?per_page=3&page=9", headers=AUTH).json == []
    assert len(api.get("/repos/tidepool/cluster-local/keys?per_page=500", headers=AUTH).json) == 7


def test_state_file_survives_restart(root, tmp_path):
    state = tmp_path / "state.json"
    api = create_app(root, TOKEN, state).test_client()
    key = post(api, "cluster-local", {"title": "persist", "key": ssh_key(8)}).json
    api2 = create_app(root, TOKEN, state).test_client()
    assert api2.get(f"/repos/tidepool/cluster-local/keys/{key['id']}", headers=AUTH).json["title"] == "persist"
    assert post(api2, "cluster-local", {"key": ssh_key(9)}).json["id"] == key["id"] + 1


def test_create_repo_and_reset(api, root):
    r = api.post("/user/repos", json={"name": "fresh"}, headers=AUTH)
    assert r.status_code == 201 and (root / "fresh.git" / "HEAD").is_file()
    assert api.post("/user/repos", json={"name": "fresh"}, headers=AUTH).status_code == 422
    assert post(api, "fresh", {"key": ssh_key(10)}).status_code == 201
    assert api.post("/_fake/reset").status_code == 204
    assert api.get("/repos/tidepool/fresh/keys", headers=AUTH).json == []


def test_parse_public_key_real_keys():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
    for key, ktype in ((ed25519.Ed25519PrivateKey.generate(), "ssh-ed25519"),
                       (rsa.generate_private_key(public_exponent=65537, key_size=2048), "ssh-rsa"),
                       (ec.generate_private_key(ec.SECP256R1()), "ecdsa-sha2-nistp256")):
        line = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                             serialization.PublicFormat.OpenSSH).decode() + " flux@local"
        assert parse_public_key(line)[0] == ktype and parse_public_key(line)[2] == "flux@local"


def test_queued_failures_answer_the_next_calls_then_normal_service(api):
    assert api.post("/_fake/fail", json={"status": 403, "message": "You have exceeded a secondary rate limit.",
                                         "headers": {"Retry-After": "1"}, "count": 2}).status_code == 204
    for _ in range(2):
        r = api.get("/repos/tidepool/cluster-local/keys", headers=AUTH)
        assert r.status_code == 403 and r.headers["Retry-After"] == "1"
        assert r.json["message"] == "You have exceeded a secondary rate limit."
    assert api.get("/repos/tidepool/cluster-local/keys", headers=AUTH).status_code == 200
    api.post("/_fake/fail", json={"status": 502})
    assert api.post("/_fake/reset").status_code == 204  # drops queued failures too
    assert api.get("/repos/tidepool/cluster-local/keys", headers=AUTH).status_code == 200
