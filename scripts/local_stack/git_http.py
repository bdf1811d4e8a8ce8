"""Git's smart HTTP protocol on loopback: ``git http-backend`` (CGI) behind a small threaded HTTP server.

Flux's source-controller (go-git) speaks smart HTTP(S) or SSH, not ``git://`` (the GitRepository CRD refuses
that scheme) and not git's dumb HTTP; this server gives it the same bare repositories as the git daemon
(``<root>/<name>.git``), fetch and push (``http.receivepack`` is enabled: no authentication, loopback only).

    python -m local_stack.git_http --host 127.0.0.1 --port 19419 --root <state>/git

``GET /_health`` answers 200 (the stack's health probe). Every other request runs one ``git http-backend``
with the CGI variables of RFC 3875; a chunked request body (git sends one above ``http.postBuffer``) is
de-chunked first, a gzip one is passed through (http-backend inflates it itself).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


def _read_chunked(rfile) -> bytes:
    body = bytearray()
    while True:
        size = int(rfile.readline().split(b";")[0].strip() or b"0", 16)
        if size == 0:
            while rfile.readline() not in (b"\r\n", b"\n", b""):  # trailers
                pass
            return bytes(body)
        body += rfile.read(size)
        rfile.readline()  # CRLF after each chunk


def cgi_env(root: str, method: str, path: str, query: str, headers, client: str, length: int) -> dict:
    """The environment of one ``git http-backend`` run (RFC 3875 variables plus git's own)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "HTTP_"))}
    env.update({
        "GIT_PROJECT_ROOT": root, "GIT_HTTP_EXPORT_ALL": "1",
        # Pushes without authentication (git's default refuses receive-pack to an anonymous user).
        "GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "http.receivepack", "GIT_CONFIG_VALUE_0": "true",
        "GATEWAY_INTERFACE": "CGI/1.1", "SERVER_PROTOCOL": "HTTP/1.1", "REQUEST_METHOD": method,
        "PATH_INFO": path, "QUERY_STRING": query, "REMOTE_ADDR": client, "REMOTE_USER": "local",
        "CONTENT_TYPE": headers.get("Content-Type", ""), "CONTENT_LENGTH": str(length),
    })
    for name in ("Content-Encoding", "Git-Protocol", "Accept"):
        if headers.get(name):
            env["HTTP_" + name.upper().replace("-", "_")] = headers[name]
    return env


class Handler(BaseHTTPRequestHandler):
    root = "."
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # one line per request on stderr (the stack's log file)
        sys.stderr.write("git-http: %s %s\n" % (self.address_string(), fmt % args))

    def _reply(self, status: int, body: bytes, headers: dict | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {"Content-Type": "text/plain"}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _backend(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/_health":
            self._reply(200, b"ok\n")
            return
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            body = _read_chunked(self.rfile)
        else:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        env = cgi_env(self.root, self.command, url.path, url.query, self.headers, self.client_address[0], len(body))
        proc = subprocess.run(["git", "http-backend"], input=body, capture_output=True, env=env)
        head, sep, payload = proc.stdout.partition(b"\r\n\r\n")
        if not sep:
            head, sep, payload = proc.stdout.partition(b"\n\n")
        if not sep:
            self._reply(500, b"git http-backend failed: " + proc.stderr[-2000:])
            return
        status, headers = 200, {}
        for line in head.decode("latin-1").splitlines():
            key, _, value = line.partition(":")
            if key.lower() == "status":
                status = int(value.split()[0])
            elif key:
                headers[key.strip()] = value.strip()
        if proc.stderr:
            sys.stderr.write(proc.stderr.decode(errors="replace"))
        self._reply(status, payload, headers)

    do_GET = do_POST = _backend


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--root", required=True, help="directory of the bare repositories (<name>.git)")
    args = p.parse_args(argv)
    Handler.root = os.path.abspath(args.root)
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    sys.stderr.write(f"git-http: serving {Handler.root} on http://{args.host}:{args.port}/\n")
    sys.stderr.flush()
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
