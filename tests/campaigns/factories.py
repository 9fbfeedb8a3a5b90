import factory

from campaigns import services
from campaigns.models import Campaign, Sequence, Variant
from tests.inboxes.factories import InboxFactory
from tests.reachkit.factories import WorkspaceFactory


class CampaignFactory(factory.django.DjangoModelFactory):
    """A campaign as the API creates it: default schedule, step 1 with an empty variant A.

    Other fields given to the factory (status, options) are set on top.
    """

    class Meta:
        model = Campaign

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"Campaign {n}")

    @classmethod
    def _create(cls, model_class: type[Campaign], *args, **kwargs) -> Campaign:
        campaign = services.campaign_create(
            workspace=kwargs.pop("workspace"), name=kwargs.pop("name")
        )
        if kwargs:
            for key, value in kwargs.items():
                setattr(campaign, key, value)
            campaign.save()
        return campaign


class SequenceFactory(factory.django.DjangoModelFactory):
    """A step appended after the campaign's last one, with an empty variant A."""

    class Meta:
        model = Sequence

    campaign = factory.SubFactory(CampaignFactory)

    @classmethod
    def _create(cls, model_class: type[Sequence], *args, **kwargs) -> Sequence:
        return services.sequence_create(**kwargs)


class VariantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Variant

    sequence = factory.SubFactory(SequenceFactory)
    workspace = factory.LazyAttribute(lambda variant: variant.sequence.workspace)
    letter = factory.LazyAttribute(lambda variant: services.variant_next_letter(variant.sequence))
    subject = "Quick question"
    body_html = "Hi {{first_name}},<br>a quick question."
    body_text = "Hi {{first_name}},\na quick question."


def make_ready(campaign: Campaign, inbox=None) -> Campaign:
    """Fill step 1's variant A and attach an inbox: the campaign can launch."""
    variant = Variant.objects.get(sequence__campaign=campaign, sequence__step=1, letter="A")
    variant.subject = "Quick question"
    variant.body_html = "Hi {{first_name}},<br>a quick question."
    variant.body_text = "Hi {{first_name}},\na quick question."
    variant.save()
    services.campaign_inboxes_attach(
        campaign=campaign,
        inbox_ids=[(inbox or InboxFactory(workspace=campaign.workspace)).pk],
    )
    return campaign
