"""Dead peers on loopback, for timeout tests (traffic never leaves this machine).

- `BlackholePort`: connections are never accepted: the listener's backlog is full, so
  the kernel drops every SYN and `connect()` waits until its timeout, as it would for an
  unroutable or firewalled host.
- `SilentServer`: connections are accepted, and then nothing is ever said (no greeting,
  no reply), as from a hung server.
- `closed_port()`: a port nobody listens on, so a connection is refused at once.
"""

import socket
import threading


def closed_port() -> int:
    """A loopback port that was free a moment ago: connecting to it is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class BlackholePort:
    host = "127.0.0.1"

    def __init__(self) -> None:
        self._listener = socket.socket()
        self._listener.bind((self.host, 0))
        self._listener.listen(0)
        self.port = int(self._listener.getsockname()[1])
        # Fill the accept queue (backlog 0 holds one): later SYNs are dropped, not refused.
        self._filler = socket.create_connection((self.host, self.port), timeout=5)

    def close(self) -> None:
        self._filler.close()
        self._listener.close()


class SilentServer:
    host = "127.0.0.1"

    def __init__(self) -> None:
        self._listener = socket.create_server((self.host, 0))
        self.port = int(self._listener.getsockname()[1])
        self._accepted: list[socket.socket] = []
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="silent-server", daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        self._listener.settimeout(0.1)
        while not self._closed.is_set():
            try:
                connection, _ = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            self._accepted.append(connection)

    @property
    def connections(self) -> int:
        return len(self._accepted)

    def close(self) -> None:
        self._closed.set()
        self._thread.join(5)
        for connection in self._accepted:
            connection.close()
        self._listener.close()
