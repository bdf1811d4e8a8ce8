"""Process handling for the local stack: every server runs in its own session/process group, recorded
in ``<state>/run/<name>.pid`` (the pid is also the process-group id), so ``down`` stops the server and
all its children (git daemon forks one per connection) without touching anything else."""
from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import time
from pathlib import Path

PR_SET_PDEATHSIG = 1


def _session(die_with_parent: bool):
    def preexec():  # runs in the child between fork and exec
        os.setsid()
        if die_with_parent:
            # If the parent (a pytest session) dies, the kernel kills this child: no orphan servers even
            # after `kill -9 pytest`. SIGKILL, not SIGTERM: kube-apiserver's graceful shutdown can hang
            # forever when etcd dies at the same moment, and the data is throw-away.
            try:
                ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
            except Exception:  # pragma: no cover - not Linux
                pass
    return preexec


def spawn(name: str, argv: list[str], run_dir: Path, *, env: dict | None = None, cwd: Path | None = None,
          die_with_parent: bool = False) -> int:
    """Start ``argv`` in a new session, output to ``<run_dir>/<name>.log``; return its pid (= pgid)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    log = open(run_dir / f"{name}.log", "ab")
    log.write(f"\n--- {time.strftime('%Y-%m-%dT%H:%M:%S')} {' '.join(argv)}\n".encode())
    log.flush()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                            env=env, cwd=cwd, preexec_fn=_session(die_with_parent), close_fds=True)
    log.close()
    (run_dir / f"{name}.pid").write_text(f"{proc.pid}\n")
    _CHILDREN[proc.pid] = proc
    return proc.pid


# Popen objects we started in this interpreter, so their exit status is reaped (no zombies).
_CHILDREN: dict[int, subprocess.Popen] = {}


def read_pid(run_dir: Path, name: str) -> int | None:
    try:
        return int((run_dir / f"{name}.pid").read_text().strip())
    except (OSError, ValueError):
        return None


def alive(pid: int | None) -> bool:
    if not pid:
        return False
    proc = _CHILDREN.get(pid)
    if proc is not None:
        return proc.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0); look at its state.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except OSError:
        return True


def group_members(pgid: int) -> list[int]:
    """Pids of live processes whose process group is ``pgid`` (Linux /proc)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            out.append(int(entry.name))
    return out


def stop(run_dir: Path, name: str, timeout: float = 15.0) -> bool:
    """SIGTERM the process group recorded for ``name``, SIGKILL after ``timeout``. True if it was running."""
    pid = read_pid(run_dir, name)
    was_running = alive(pid)
    if pid:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(pid, sig)
            except (ProcessLookupError, PermissionError):
                pass
            deadline = time.monotonic() + (timeout if sig == signal.SIGTERM else 5)
            while time.monotonic() < deadline:
                proc = _CHILDREN.get(pid)
                if proc is not None:
                    proc.poll()
                if not alive(pid) and not group_members(pid):
                    break
                time.sleep(0.1)
            else:
                continue
            break
        proc = _CHILDREN.pop(pid, None)
        if proc is not None:
            try:
                proc.wait(timeout=1)
            except subprocess.TimeoutExpired:
                pass
    (run_dir / f"{name}.pid").unlink(missing_ok=True)
    return was_running


def rss_kib(pid: int | None) -> int:
    """Resident memory of the process group of ``pid`` in KiB (sum of VmRSS)."""
    if not pid:
        return 0
    total = 0
    for member in group_members(pid):
        try:
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def _listen_table() -> dict[str, str]:
    """socket inode -> "addr:port" of every listening TCP socket (IPv4 and IPv6)."""
    import socket as _s
    import struct
    out = {}
    for table, family in (("/proc/net/tcp", _s.AF_INET), ("/proc/net/tcp6", _s.AF_INET6)):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if f[3] != "0A":  # TCP_LISTEN
                continue
            hexaddr, hexport = f[1].split(":")
            raw = bytes.fromhex(hexaddr)
            if family == _s.AF_INET:
                addr = _s.inet_ntop(family, struct.pack("<I", int(hexaddr, 16)))
            else:
                addr = _s.inet_ntop(family, b"".join(struct.pack("<I", int.from_bytes(raw[i:i + 4], "big"))
                                                   for i in range(0, 16, 4)))
            out[f[9]] = f"{addr}:{int(hexport, 16)}"
    return out


def listening_sockets(pgid: int | None) -> list[str]:
    """The addresses the processes of group ``pgid`` listen on, e.g. ["127.0.0.1:16443"]."""
    if not pgid:
        return []
    table = _listen_table()
    found = set()
    for member in group_members(pgid):
        try:
            for fd in Path(f"/proc/{member}/fd").iterdir():
                try:
                    target = os.readlink(fd)
                except OSError:
                    continue
                if target.startswith("socket:["):
                    inode = target[8:-1]
                    if inode in table:
                        found.add(table[inode])
        except OSError:
            continue
    return sorted(found)
