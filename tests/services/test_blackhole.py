"""The dead peers behave as the timeout tests need: a hang, not an error."""

import socket
import time

import pytest

from tests.services.blackhole import closed_port


def test_connecting_to_the_blackhole_times_out(blackhole):
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        socket.create_connection((blackhole.host, blackhole.port), timeout=0.3)
    assert 0.25 < time.monotonic() - started < 2


def test_the_silent_server_accepts_and_never_speaks(silent_server):
    with socket.create_connection((silent_server.host, silent_server.port), timeout=2) as conn:
        conn.settimeout(0.3)
        with pytest.raises(TimeoutError):
            conn.recv(1)


def test_a_closed_port_refuses_at_once():
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", closed_port()), timeout=2)
