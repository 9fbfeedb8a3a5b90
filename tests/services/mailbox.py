"""A real mailbox for tests: a Dovecot user with the same login on test SMTP servers.

`mailbox.smtp(security)` and `mailbox.imap(security)` are the API's server objects
(`{"host", "port", "username", "password", "security"}`) pointing at live servers:
SMTP servers start on demand, one per security ("none", "starttls", "ssl"), each knowing
this login; IMAP is the session's Dovecot (plain/STARTTLS port, or the IMAPS port).
`mailbox.payload()` is a whole `POST /api/v1/inboxes` body. What was sent is in
`mailbox.smtp_server(security).messages`; what arrived is `dovecot.messages(email)`.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.services.dovecot import Dovecot
from tests.services.smtp_server import SmtpServer


@dataclass
class Mailbox:
    email: str
    password: str
    dovecot: Dovecot
    make_smtp_server: Callable[..., SmtpServer]
    smtp_servers: dict[str, SmtpServer] = field(default_factory=dict)

    def smtp_server(self, security: str = "none") -> SmtpServer:
        if security not in self.smtp_servers:
            self.smtp_servers[security] = self.make_smtp_server(
                security=security, users={self.email: self.password}
            )
        return self.smtp_servers[security]

    def smtp(self, security: str = "none", **overrides: Any) -> dict[str, Any]:
        server = self.smtp_server(security)
        body = {
            "host": server.host,
            "port": server.port,
            "username": self.email,
            "password": self.password,
            "security": security,
        }
        return {**body, **overrides}

    def imap(self, security: str = "ssl", **overrides: Any) -> dict[str, Any]:
        port = self.dovecot.imaps_port if security == "ssl" else self.dovecot.imap_port
        body = {
            "host": self.dovecot.host,
            "port": port,
            "username": self.email,
            "password": self.password,
            "security": security,
        }
        return {**body, **overrides}

    def payload(
        self, *, smtp_security: str = "starttls", imap_security: str = "ssl", **overrides: Any
    ) -> dict[str, Any]:
        body = {
            "email": self.email,
            "first_name": "Sam",
            "last_name": "Sender",
            "smtp": self.smtp(smtp_security),
            "imap": self.imap(imap_security),
        }
        return {**body, **overrides}
