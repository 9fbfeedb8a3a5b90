"""A real HTTP receiver for webhook tests: http.server in a thread, on loopback.

It records each request (path, headers, body) and answers from a script: a list of
`Answer`s used in turn (the last one repeats), so a test can have it fail twice then
succeed, ask for a Retry-After, redirect, hang past the client's timeout, or drip its
answer a byte at a time.
"""

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"
    delay: float = 0.0  # seconds before answering (a hung receiver)
    trickle: float = 0.0  # seconds between the answer's bytes (a slow-drip receiver)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    def __init__(self, answers: list[Answer] | None = None) -> None:
        self.answers = list(answers or [Answer()])
        self.received: list[Received] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.received.append(
                        Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                    )
                    answer = (
                        receiver.answers.pop(0)
                        if len(receiver.answers) > 1
                        else receiver.answers[0]
                    )
                if answer.delay:
                    time.sleep(answer.delay)
                if answer.trickle:
                    raw = b"HTTP/1.1 %d X\r\nContent-Length: %d\r\n\r\n" % (
                        answer.status,
                        len(answer.body),
                    )
                    try:
                        for byte in raw + answer.body:
                            self.wfile.write(bytes([byte]))
                            time.sleep(answer.trickle)
                    except OSError:
                        pass
                    self.close_connection = True
                    return
                try:
                    self.send_response(answer.status)
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(answer.body)))
                    self.end_headers()
                    self.wfile.write(answer.body)
                except OSError:
                    pass  # the client gave up

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/reachkit?token=abc"

    def start(self) -> "Receiver":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
