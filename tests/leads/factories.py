import factory

from leads.models import Lead
from tests.campaigns.factories import CampaignFactory


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lead

    campaign = factory.SubFactory(CampaignFactory)
    workspace = factory.LazyAttribute(lambda lead: lead.campaign.workspace)
    email = factory.Sequence(lambda n: f"lead{n}@prospect.example")
    domain = factory.LazyAttribute(lambda lead: lead.email.rpartition("@")[2])
