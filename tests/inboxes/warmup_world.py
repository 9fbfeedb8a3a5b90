"""A warmup pool on real mail servers: Dovecot users, and one SMTP server that delivers.

`DeliveringSmtpServer` is the test aiosmtpd server that, besides recording a message,
hands it to Dovecot by IMAP APPEND into each recipient's INBOX, or into Junk for the
recipients in `junk_for` (how a test plays "the provider filed it as spam"). Every
user's login works on it, as on one provider's servers.
"""

from dataclasses import dataclass, field
from typing import Any

from inboxes.models import Inbox
from reachkit.models import Workspace
from tests.inboxes.factories import InboxFactory
from tests.services.dovecot import Dovecot
from tests.services.smtp_server import ReceivedMessage, SmtpServer


class DeliveringSmtpServer(SmtpServer):
    def __init__(self, *, dovecot: Dovecot, **options: Any) -> None:
        super().__init__(**options)
        self.dovecot = dovecot
        self.junk_for: set[str] = set()

    def _record(self, message: ReceivedMessage) -> None:
        super()._record(message)
        for recipient in message.rcpt_tos:
            folder = "Junk" if recipient.lower() in self.junk_for else "INBOX"
            self.dovecot.append(recipient.lower(), message.raw, folder=folder)


@dataclass
class Pool:
    dovecot: Dovecot
    smtp: DeliveringSmtpServer
    inboxes: list[Inbox] = field(default_factory=list)

    def add(self, workspace: Workspace, name: str, **fields: Any) -> Inbox:
        email, password = self.dovecot.new_user(name)
        self.smtp.add_user(email, password)
        values = {
            "workspace": workspace,
            "email": email,
            "domain": email.rpartition("@")[2],
            "first_name": name.title(),
            "last_name": "Warm",
            "smtp_host": self.smtp.host,
            "smtp_port": self.smtp.port,
            "smtp_username": email,
            "smtp_password": password,
            "smtp_security": Inbox.Security.NONE,
            "imap_host": self.dovecot.host,
            "imap_port": self.dovecot.imaps_port,
            "imap_username": email,
            "imap_password": password,
            "imap_security": Inbox.Security.SSL,
            "connection_status": Inbox.ConnectionStatus.CONNECTED,
            "provider": Inbox.Provider.OTHER,
            "sent_folder": "Sent",
            "junk_folder": "Junk",
            "is_warming": True,
            "daily_warmup_limit": 10,
        }
        values.update(fields)
        inbox = InboxFactory(**values)
        self.inboxes.append(inbox)
        return inbox

    def folder(self, inbox: Inbox, folder: str = "INBOX") -> list[bytes]:
        return self.dovecot.messages(inbox.email, folder)

    def flags(self, inbox: Inbox, folder: str = "INBOX") -> list[tuple[bytes, ...]]:
        with self.dovecot.client(inbox.email) as client:
            client.select_folder(folder, readonly=True)
            uids = client.search("ALL")
            fetched = client.fetch(uids, ["FLAGS"]) if uids else {}
        return [tuple(sorted(fetched[uid][b"FLAGS"])) for uid in sorted(fetched)]
