import factory

from inboxes.models import Inbox
from tests.reachkit.factories import WorkspaceFactory


class InboxFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Inbox

    workspace = factory.SubFactory(WorkspaceFactory)
    email = factory.Sequence(lambda n: f"sender{n}@acme.com")
    domain = factory.LazyAttribute(lambda inbox: inbox.email.rpartition("@")[2])
    first_name = "Sam"
    last_name = "Sender"
    smtp_host = "smtp.acme.com"
    smtp_port = 587
    smtp_username = factory.LazyAttribute(lambda inbox: inbox.email)
    smtp_password = "smtp-secret-1"
    smtp_security = Inbox.Security.STARTTLS
    imap_host = "imap.acme.com"
    imap_port = 993
    imap_username = factory.LazyAttribute(lambda inbox: inbox.email)
    imap_password = "imap-secret-1"
    imap_security = Inbox.Security.SSL
