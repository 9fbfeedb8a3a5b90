"""A real DNS server on loopback (dnslib), serving the MX records a test puts in its zone."""

import threading
import time
from collections import Counter

from dnslib import MX, QTYPE, RCODE, RR
from dnslib.server import BaseResolver, DNSServer


class Zone(BaseResolver):
    """What the server answers. Names without records are NXDOMAIN."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.mx: dict[str, list[tuple[int, str]]] = {}
            self.servfail: Counter[str] = Counter()
            self.slow: dict[str, float] = {}
            self.queries: Counter[str] = Counter()

    def add_mx(self, domain: str, *hosts: str) -> None:
        """MX records for `domain`, in preference order. No hosts: the name exists, no MX."""
        with self._lock:
            self.mx[domain.lower()] = [(10 * (n + 1), host) for n, host in enumerate(hosts)]

    def fail(self, domain: str, times: int = 1) -> None:
        """Answer SERVFAIL for the next `times` queries of `domain`."""
        with self._lock:
            self.servfail[domain.lower()] += times

    def delay(self, domain: str, seconds: float) -> None:
        """Answer `domain` only after `seconds` (longer than the resolver's timeout: a timeout)."""
        with self._lock:
            self.slow[domain.lower()] = seconds

    def resolve(self, request, handler):  # dnslib's resolver interface
        name = str(request.q.qname).rstrip(".").lower()
        with self._lock:
            self.queries[name] += 1
            failing = self.servfail[name] > 0
            if failing:
                self.servfail[name] -= 1
            delay = self.slow.get(name, 0)
            records = self.mx.get(name)
        if delay:
            time.sleep(delay)
        reply = request.reply()
        if failing:
            reply.header.rcode = RCODE.SERVFAIL
        elif records is None:
            reply.header.rcode = RCODE.NXDOMAIN
        elif request.q.qtype == QTYPE.MX:
            for preference, host in records:
                reply.add_answer(RR(name, QTYPE.MX, rdata=MX(host, preference), ttl=300))
        return reply


class LoopbackDnsServer:
    def __init__(self) -> None:
        self.zone = Zone()
        self._server = DNSServer(self.zone, address="127.0.0.1", port=0)
        self.port = self._server.server.server_address[1]

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        self._server.start_thread()

    def stop(self) -> None:
        self._server.stop()
