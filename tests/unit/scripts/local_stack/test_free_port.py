"""free_port: ports outside the kernel's ephemeral range, never twice, and disjoint between test processes."""
import socket

import pytest

from local_stack import common


def test_slices_split_the_pool_without_overlap():
    pool = (21000, 32767)
    first, second = common.port_slice(pool, "1/2"), common.port_slice(pool, "2/2")
    assert first == (21000, 26883) and second == (26884, 32767)
    assert common.port_slice(pool, "") == pool          # unset: the whole pool
    assert common.port_slice(pool, "3/2") == pool       # out of range: the whole pool
    assert common.port_slice(pool, "junk") == pool


def test_free_ports_are_in_this_process_slice_bindable_and_never_repeated(monkeypatch):
    monkeypatch.setenv("TIDEPOOL_PORT_SLICE", "2/2")
    if common._ephemeral_start() <= common.PORT_POOL[1]:
        pytest.skip("this kernel's ephemeral range starts inside the pool: free_port falls back to port 0")
    lo, hi = common.port_slice()
    ports = [common.free_port() for _ in range(50)]
    assert len(set(ports)) == 50
    assert all(lo <= p <= hi for p in ports)
    assert all(p < common._ephemeral_start() for p in ports)
    with socket.socket() as sock:     # a port handed out is really free
        sock.bind((common.HOST, ports[-1]))


def test_a_port_taken_by_a_listener_is_not_handed_out(monkeypatch):
    with socket.socket() as busy:
        busy.bind((common.HOST, 0))
        busy.listen()
        taken = busy.getsockname()[1]
        monkeypatch.setattr(common, "PORT_POOL", (taken, taken))
        monkeypatch.setattr(common, "_ephemeral_start", lambda: taken + 1)
        monkeypatch.delenv("TIDEPOOL_PORT_SLICE", raising=False)
        assert common.free_port() != taken
