"""Parallel HTTP clients against a live server, for the rate-limit proofs."""

import http.client
import socket
import threading
import time
from collections import Counter
from urllib.parse import urlsplit


def parallel_requests(
    base_url: str, path: str, *, clients: int, each: int, headers: dict[str, str] | None = None
) -> Counter[int]:
    """`clients` threads, each making `each` requests on fresh connections, all at once:
    the statuses they got, counted."""
    parts = urlsplit(base_url)
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    start = threading.Barrier(clients)

    def client() -> None:
        start.wait()
        for _ in range(each):
            connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
            try:
                connection.request("GET", path, headers=headers or {})
                response = connection.getresponse()
                response.read()
            finally:
                connection.close()
            with lock:
                statuses[response.status] += 1

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def wait_for_a_fresh_window(seconds: int, margin: float = 20.0) -> None:
    """Sleep past the end of the current fixed window when fewer than `margin` seconds of it
    are left, so one burst of requests falls in one window."""
    left = seconds - time.time() % seconds
    if left < margin:
        time.sleep(left + 0.5)


def raw_request(base_url: str, head: bytes) -> tuple[int, bytes]:
    """Send `head` (a request line and headers, bytes as they are) and read the whole answer:
    its status and body. HTTP/1.0, so the server closes when done."""
    parts = urlsplit(base_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(head + b"\r\n")
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    answer = b"".join(chunks)
    status_line, _, rest = answer.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]
