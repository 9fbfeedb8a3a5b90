import factory

from inboxes.models import Inbox
from tests.reachkit.factories import WorkspaceFactory


class InboxFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Inbox

    workspace = factory.SubFactory(WorkspaceFactory)
    email = factory.Sequence(lambda n: f"sender{n}@outreach.example")
    domain = factory.LazyAttribute(lambda inbox: inbox.email.rpartition("@")[2])
