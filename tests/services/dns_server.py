"""A real DNS server on loopback (dnslib), serving the MX, A and AAAA records a test puts
in its zone."""

import ipaddress
import threading
import time
from collections import Counter

from dnslib import AAAA, MX, QTYPE, RCODE, RR, A
from dnslib.server import BaseResolver, DNSServer


class Zone(BaseResolver):
    """What the server answers. Names without records are NXDOMAIN."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.mx: dict[str, list[tuple[int, str]]] = {}
            self.addresses: dict[str, list[str]] = {}
            self.rebinds: dict[str, tuple[int, list[str]]] = {}
            self.servfail: Counter[str] = Counter()
            self.slow: dict[str, float] = {}
            self.queries: Counter[str] = Counter()

    def add_mx(self, domain: str, *hosts: str) -> None:
        """MX records for `domain`, in preference order. No hosts: the name exists, no MX."""
        with self._lock:
            self.mx[domain.lower()] = [(10 * (n + 1), host) for n, host in enumerate(hosts)]

    def add_address(self, name: str, *addresses: str) -> None:
        """A records (IPv4) and AAAA records (IPv6) for `name`, as given."""
        with self._lock:
            self.addresses[name.lower()] = [str(ipaddress.ip_address(a)) for a in addresses]

    def rebind(self, name: str, *addresses: str, after: int = 2) -> None:
        """After `after` answers (one look-up: A and AAAA), `name` answers these addresses
        instead: DNS rebinding, as an attacker's name server would do it."""
        with self._lock:
            later = [str(ipaddress.ip_address(a)) for a in addresses]
            self.rebinds[name.lower()] = (self.queries[name.lower()] + after, later)

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
            addresses = self.addresses.get(name)
            if name in self.rebinds and self.queries[name] > self.rebinds[name][0]:
                self.addresses[name] = addresses = self.rebinds.pop(name)[1]
        if delay:
            time.sleep(delay)
        reply = request.reply()
        if failing:
            reply.header.rcode = RCODE.SERVFAIL
        elif records is None and addresses is None:
            reply.header.rcode = RCODE.NXDOMAIN
        elif request.q.qtype == QTYPE.MX:
            for preference, host in records or []:
                reply.add_answer(RR(name, QTYPE.MX, rdata=MX(host, preference), ttl=300))
        elif request.q.qtype in (QTYPE.A, QTYPE.AAAA):
            version = 4 if request.q.qtype == QTYPE.A else 6
            for address in addresses or []:
                if ipaddress.ip_address(address).version == version:
                    record = A(address) if version == 4 else AAAA(address)
                    reply.add_answer(RR(name, request.q.qtype, rdata=record, ttl=0))
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
