import factory

from blocklist.models import BlocklistEntry
from tests.reachkit.factories import WorkspaceFactory


class BlocklistEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BlocklistEntry

    workspace = factory.SubFactory(WorkspaceFactory)
    value = factory.Sequence(lambda n: f"blocked{n}@example.com")
    kind = BlocklistEntry.Kind.EMAIL
