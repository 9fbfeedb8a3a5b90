import factory

from leads.inputs import search_text
from leads.models import Lead
from tests.campaigns.factories import CampaignFactory


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lead

    campaign = factory.SubFactory(CampaignFactory)
    workspace = factory.SelfAttribute("campaign.workspace")
    email = factory.Sequence(lambda n: f"lead{n}@example.com")
    email_key = factory.LazyAttribute(lambda lead: lead.email.lower())
    domain = factory.LazyAttribute(lambda lead: lead.email.rpartition("@")[2].lower())
    first_name = factory.Sequence(lambda n: f"First{n}")
    last_name = factory.Sequence(lambda n: f"Last{n}")
    variables = factory.LazyFunction(dict)
    search_text = factory.LazyAttribute(
        lambda lead: search_text(lead.email_key, lead.first_name, lead.last_name, lead.variables)
    )
