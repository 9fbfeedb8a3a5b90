"""Loopback peers that are not honest mail servers, for the connection-check security tests.

- `BannerServer`: another service on a port, which says its own first words (Redis, NATS,
  an SSH server…) to whoever connects, then waits (or, with `hang_up`, closes the
  connection: a TLS server's alert to a client that spoke plain text). It counts the
  connections it accepted: a refused address must show 0.
- `DripServer`: says its first words (`greeting`, maybe nothing), then sends one byte every
  `interval` seconds, forever (up to `lasts` seconds): each read gets a byte just before it
  would time out, so per-read timeouts never end the exchange.
"""

import socket
import threading


class _LoopbackServer:
    host = "127.0.0.1"

    def __init__(self) -> None:
        self._listener = socket.create_server((self.host, 0))
        self._listener.settimeout(0.1)
        self.port = int(self._listener.getsockname()[1])
        self._closed = threading.Event()
        self._accepted: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        accept = threading.Thread(target=self._accept, name=type(self).__name__, daemon=True)
        accept.start()
        self._threads.append(accept)

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                connection, _ = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            self._accepted.append(connection)
            serve = threading.Thread(target=self._serve, args=(connection,), daemon=True)
            serve.start()
            self._threads.append(serve)

    def _serve(self, connection: socket.socket) -> None:
        raise NotImplementedError

    @property
    def connections(self) -> int:
        return len(self._accepted)

    def close(self) -> None:
        self._closed.set()
        for thread in self._threads:
            thread.join(5)
        for connection in self._accepted:
            connection.close()
        self._listener.close()


class BannerServer(_LoopbackServer):
    def __init__(self, banner: bytes, *, hang_up: bool = False) -> None:
        self.banner = banner
        self.hang_up = hang_up
        super().__init__()

    def _serve(self, connection: socket.socket) -> None:
        try:
            connection.sendall(self.banner)
            if self.hang_up:
                connection.shutdown(socket.SHUT_RDWR)
                return
        except OSError:
            return
        self._closed.wait()


class DripServer(_LoopbackServer):
    def __init__(self, *, greeting: bytes = b"", interval: float, lasts: float = 30) -> None:
        self.greeting = greeting
        self.interval = interval
        self.lasts = lasts
        super().__init__()

    def _serve(self, connection: socket.socket) -> None:
        try:
            connection.sendall(self.greeting)
            for _ in range(int(self.lasts / self.interval)):
                if self._closed.wait(self.interval):
                    return
                connection.sendall(b"2")
        except OSError:
            return
