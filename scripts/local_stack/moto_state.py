"""The moto server's AWS state across restarts, through moto's own recorder (``/moto-api/recorder/...``).

moto keeps its state in memory only. The stack starts it with ``MOTO_RECORDER_FILEPATH`` pointing at
``<state>/moto/recording.jsonl`` and recording on: moto appends every request it serves (one JSON object a
line: method, url, headers, body) to that file. On the next start the stack compacts the file (drops
requests that change nothing, :func:`is_read_only`) and asks moto to replay it, then turns recording back on.

What survives: every name, value and object body a request carried (secret values, S3 objects, tags,
bucket settings). What may differ: identifiers moto generates itself (VPC ids, the random suffix of a
Secrets Manager ARN, version ids), because moto draws them from one random stream that reads also consume.

``scripts/local-stack reset`` and ``down --purge`` forget the recording with the state.
"""
from __future__ import annotations

import base64
import json
import os
import urllib.parse
import urllib.request
from pathlib import Path

RECORDER = "/moto-api/recorder/"
# Operation-name prefixes of AWS APIs that only read (JSON protocol X-Amz-Target, query protocol Action).
READ_PREFIXES = ("Get", "List", "Describe", "BatchGet", "Head", "Lookup", "Search", "Scan", "Query",
                 "Validate", "Check", "Estimate", "Preview", "Simulate", "Test")


def recording_path(state_dir: Path) -> Path:
    return Path(state_dir) / "moto" / "recording.jsonl"


def _body_text(entry: dict) -> str:
    body = entry.get("body") or ""
    if entry.get("body_encoded"):
        try:
            return base64.b64decode(body).decode("utf-8", "replace")
        except ValueError:
            return ""
    return body


def _operation(entry: dict) -> str | None:
    """The AWS operation name of a recorded request, when its protocol names one (JSON and query)."""
    headers = {k.lower(): v for k, v in (entry.get("headers") or {}).items()}
    target = headers.get("x-amz-target")
    if target:
        return target.rsplit(".", 1)[-1]
    query = urllib.parse.urlparse(entry.get("url", "")).query
    action = urllib.parse.parse_qs(query).get("Action")
    if action:
        return action[0]
    if "x-www-form-urlencoded" in headers.get("content-type", ""):
        action = urllib.parse.parse_qs(_body_text(entry)).get("Action")
        if action:
            return action[0]
    return None


def is_read_only(entry: dict) -> bool:
    """True for a request that changes no state: GET/HEAD of REST APIs (S3, EKS, ...), and operations of
    JSON/query APIs whose names start with a reading verb (GetSecretValue, DescribeVpcs, ...)."""
    op = _operation(entry)
    if op:
        return op.startswith(READ_PREFIXES)
    return (entry.get("method") or "GET").upper() in ("GET", "HEAD", "OPTIONS")


def compact(path: Path) -> tuple[int, int]:
    """Rewrite the recording without read-only requests and unreadable lines (a line cut short by a
    killed server). Returns ``(kept, dropped)``. Atomic: the file is replaced only when complete."""
    if not path.exists():
        return 0, 0
    kept, dropped = [], 0
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            try:
                entry = json.loads(line)
            except ValueError:
                dropped += 1
                continue
            if not isinstance(entry, dict) or is_read_only(entry) or RECORDER in entry.get("url", ""):
                dropped += 1
                continue
            kept.append(line if line.endswith("\n") else line + "\n")
    if dropped:
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.writelines(kept)
        tmp.replace(path)
    return len(kept), dropped


def prepare(path: Path) -> None:
    """Create the recording's directory and (empty) file readable by the owner only: it holds the secret
    values the pipeline stores, like moto's memory does."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        os.close(fd)


def _post(endpoint: str, action: str, timeout: float) -> None:
    req = urllib.request.Request(endpoint.rstrip("/") + RECORDER + action, method="POST", data=b"")
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        if resp.status != 200:
            raise RuntimeError(f"moto {RECORDER}{action} answered HTTP {resp.status}")


def replay(endpoint: str, timeout: float = 600.0) -> None:
    """Replay the recording into the (fresh) moto server at ``endpoint``; moto records nothing meanwhile."""
    _post(endpoint, "replay-recording", timeout)


def start_recording(endpoint: str) -> None:
    _post(endpoint, "start-recording", 10)


def forget(endpoint: str) -> None:
    """Empty the recording (after a reset of moto's state)."""
    _post(endpoint, "reset-recording", 10)
