"""From a lead (and its sending inbox) to merge-tag values, and a variant to an email."""

import pytest
from django.conf import settings

from campaigns.content import unsubscribe
from campaigns.content.merge_tags import TooLong
from campaigns.content.rendering import (
    MAX_RENDERED_BODY,
    MAX_RENDERED_SUBJECT,
    check_template,
    lead_seed,
    lead_variables,
    preview,
    render_variant,
    reply_subject,
)
from campaigns.models import Sequence, Variant
from tests.campaigns.factories import CampaignFactory, SequenceFactory, VariantFactory
from tests.inboxes.factories import InboxFactory
from tests.leads.factories import LeadFactory


@pytest.fixture
def lead(db):
    return LeadFactory(
        email="ada@acme.com",
        first_name="Ada",
        last_name="Lovelace",
        variables={"Company": "Acme", "Job Title": "CTO", "first_name": "Not Ada"},
    )


def step_one_variant(campaign, **fields) -> Variant:
    variant = Variant.objects.get(sequence__campaign=campaign, sequence__step=1, letter="A")
    for key, value in fields.items():
        setattr(variant, key, value)
    variant.set_body(variant.body_html)
    variant.save()
    return variant


def test_a_lead_gives_its_built_ins_and_its_variables(lead):
    values = lead_variables(lead)
    assert values == {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": "ada@acme.com",
        "full_name": "Ada Lovelace",
        "contact": "Ada Lovelace",
        "company": "Acme",
        "job_title": "CTO",
    }


def test_the_sending_inbox_gives_the_sender_variables(lead):
    inbox = InboxFactory(first_name="Grace", last_name="Hopper", email="grace@navy.example")
    values = lead_variables(lead, inbox)
    assert (values["sender_first_name"], values["sender_last_name"], values["sender_email"]) == (
        "Grace",
        "Hopper",
        "grace@navy.example",
    )


def test_an_empty_built_in_leaves_the_name_to_a_variable_or_missing(db):
    lead = LeadFactory(
        email="x@acme.com", first_name="", last_name="", variables={"lastName": "From variables"}
    )
    values = lead_variables(lead)
    assert "first_name" not in values
    assert values["last_name"] == "From variables"
    assert values["contact"] == "x@acme.com"  # no name: whom to address is the address
    assert "full_name" not in values


def test_the_same_lead_and_variant_always_render_the_same_spintax(lead):
    variant = step_one_variant(
        lead.campaign,
        subject="{{SPINTAX|a|b|c|d|e|f|g|h}}",
        body_html="{{SPINTAX|1|2|3|4|5|6|7|8}} {{first_name}}",
    )
    values = lead_variables(lead)
    first = render_variant(variant, values, seed=lead_seed(lead, variant))
    again = render_variant(variant, values, seed=lead_seed(lead, variant))
    assert first == again
    assert lead_seed(lead, variant) == f"{lead.id}:{variant.id}"
    assert first.body_html.endswith("Ada")

    others = {
        render_variant(
            variant, values, seed=lead_seed(LeadFactory(campaign=lead.campaign), variant)
        ).subject
        for _ in range(12)
    }
    assert len(others) > 1  # different leads do get different choices


def test_html_gets_escaped_values_and_text_gets_plain_ones(db):
    lead = LeadFactory(variables={"company": "Smith & <Sons>"})
    variant = step_one_variant(
        lead.campaign, subject="For {{company}}", body_html="For {{company}}"
    )
    email = render_variant(variant, lead_variables(lead), seed="s")
    assert email.subject == "For Smith & <Sons>"
    assert "Smith &amp; &lt;Sons&gt;" in email.body_html
    assert email.body_text == "For Smith & <Sons>"


def test_a_subject_stays_one_line_whatever_the_values(db):
    lead = LeadFactory(variables={"company": "Acme\r\nBcc: victim@example.com"})
    variant = step_one_variant(lead.campaign, subject="Hi {{company}}", body_html="x")
    assert render_variant(variant, lead_variables(lead), seed="s").subject == (
        "Hi Acme Bcc: victim@example.com"
    )


def test_missing_variables_render_empty_and_are_reported_once(db):
    lead = LeadFactory(first_name="", variables={})
    variant = step_one_variant(
        lead.campaign,
        subject="{{first_name}} at {{company}}",
        body_html="Hi {{first_name}}, {{role|friend}} at {{company}}",
    )
    email = render_variant(variant, lead_variables(lead), seed="s")
    assert email.subject == "at"
    assert email.body_text == "Hi , friend at "
    assert email.missing == ("first_name", "company")


@pytest.mark.parametrize(
    ("first", "expected"),
    [("Quick question", "Re: Quick question"), ("Re: hi", "Re: hi"), ("RE: hi", "RE: hi")],
)
def test_a_follow_up_without_a_subject_replies_to_the_first(first, expected):
    assert reply_subject(first) == expected


def test_a_follow_up_preview_takes_the_rendered_first_subject(lead):
    campaign = lead.campaign
    step_one_variant(campaign, subject="{{SPINTAX|Hey|Hello}} {{first_name}}", body_html="x")
    follow_up = Variant.objects.get(sequence=SequenceFactory(campaign=campaign))
    follow_up.subject = ""
    follow_up.set_body("Bump {{first_name}}")
    follow_up.save()

    email = preview(follow_up, lead=lead)

    first = preview(Variant.objects.get(sequence__campaign=campaign, sequence__step=1), lead=lead)
    assert email.subject == f"Re: {first.subject}"
    assert first.subject in ("Hey Ada", "Hello Ada")
    assert email.body_text == "Bump Ada"


def test_a_follow_up_preview_reports_what_the_first_subject_misses(db):
    campaign = CampaignFactory()
    step_one_variant(campaign, subject="About {{company}}", body_html="x")
    follow_up = Variant.objects.get(sequence=SequenceFactory(campaign=campaign))
    email = preview(follow_up, variables={})
    assert email.subject == "Re: About"
    assert email.missing == ("company",)


def test_a_variables_preview_is_stable_and_normalises_names(db):
    campaign = CampaignFactory()
    variant = step_one_variant(campaign, subject="{{SPINTAX|a|b|c|d}} {{firstName}}", body_html="x")
    one = preview(variant, variables={"First Name": "Ada"})
    assert one == preview(variant, variables={"first_name": "Ada"})
    assert one.subject.endswith(" Ada")
    assert one.missing == ()


def test_an_empty_variant_previews_as_empty(db):
    campaign = CampaignFactory()
    variant = Variant.objects.get(sequence=Sequence.objects.get(campaign=campaign))
    email = preview(variant, variables={})
    assert (email.subject, email.body_html, email.body_text, email.missing) == ("", "", "", ())


def test_disabled_step_one_variants_do_not_lend_their_subject(db):
    campaign = CampaignFactory()
    step_one_variant(campaign, subject="Disabled one", enabled=False, body_html="x")
    VariantFactory(sequence=Sequence.objects.get(campaign=campaign), subject="Enabled one")
    follow_up = Variant.objects.get(sequence=SequenceFactory(campaign=campaign))
    assert preview(follow_up, variables={}).subject == "Re: Enabled one"


# What is sent: sanitised, signed, within the caps


def test_a_value_cannot_make_a_link_the_sanitiser_would_refuse(db):
    lead = LeadFactory(variables={"website": "javascript:alert(1)", "photo": "data:image/png,x"})
    variant = step_one_variant(
        lead.campaign, body_html='<a href="{{website}}">site</a> <img src="{{photo}}" alt="me">'
    )
    email = render_variant(variant, lead_variables(lead), seed="s")
    assert email.body_html == "site"  # an image without its source is dropped
    assert email.body_text == "site (javascript:alert(1)) me"  # plain text: never a link


def test_the_signature_ends_both_bodies(db):
    lead = LeadFactory(first_name="Ada")
    variant = step_one_variant(lead.campaign, body_html="Hi {{first_name}}")
    email = render_variant(
        variant, lead_variables(lead), seed="s", signature="Sam\n<b>Acme</b> <script>x</script>"
    )
    assert email.body_html == "Hi Ada<br><br>Sam<br><b>Acme</b>"
    assert email.body_text == "Hi Ada\n\nSam\nAcme"


def test_the_text_has_one_kind_of_line_end_and_none_at_its_end(db):
    lead = LeadFactory(variables={"a": "one\r\ntwo\rthree", "b": "end\n\n"})
    variant = step_one_variant(lead.campaign, body_html="{{a}}<br>{{b}}")
    assert render_variant(variant, lead_variables(lead), seed="s").body_text == (
        "one\ntwo\nthree\nend"
    )


def test_a_preview_for_a_lead_carries_its_unsubscribe_link_and_the_inboxs_signature(lead):
    campaign = lead.campaign
    campaign.unsubscribe_option = True
    campaign.save()
    variant = step_one_variant(
        campaign, body_html='Hi<br><a href="{{unsubscribe_url}}">Unsubscribe</a>'
    )
    inbox = InboxFactory(signature="Sam")
    email = preview(variant, lead=lead, inbox=inbox)
    link = f"{settings.PUBLIC_URL}/u/{unsubscribe.token_for(lead)}"
    # The signature before the unsubscribe footer (here, the body's last line): it is last.
    assert email.body_html == f'Hi<br><br>Sam<br><a href="{link}">Unsubscribe</a>'
    assert email.body_text == f"Hi\n\nSam\nUnsubscribe ({link})"
    # Values alone have no lead: the tag stays as written.
    assert "{{unsubscribe_url}}" in preview(variant, variables={}).body_html


@pytest.mark.parametrize(
    ("field", "template", "value"),
    [
        ("subject", {"subject": "{{x}}"}, "x" * (MAX_RENDERED_SUBJECT + 1)),
        ("body_html", {"body_html": "{{x}}" * 41}, "&" * 1000),  # escaped: 5 characters each
        # The text is derived from the HTML and never longer in practice; still capped.
        ("body_text", {"body_text": "{{x}}" * 41}, "x" * 5000),
    ],
)
def test_past_a_cap_rendering_stops_and_names_the_field(field, template, value):
    variant = Variant(**{"subject": "s", "body_html": "x", "body_text": "x", **template})
    with pytest.raises(TooLong) as raised:
        render_variant(variant, {"x": value}, seed="s")
    assert raised.value.field == field
    assert raised.value.limit == (MAX_RENDERED_SUBJECT if field == "subject" else MAX_RENDERED_BODY)


def test_a_follow_ups_reply_subject_stays_within_the_cap(db):
    variant = step_one_variant(CampaignFactory(), subject="", body_html="x")
    assert render_variant(variant, {}, seed="s", thread_subject="x" * 996).subject.startswith("Re")
    with pytest.raises(TooLong):
        render_variant(variant, {}, seed="s", thread_subject="x" * MAX_RENDERED_SUBJECT)


def test_a_template_alone_is_checked_with_no_values():
    check_template(subject="{{x}}", body_html="{{x}}" * 100)
    with pytest.raises(TooLong) as raised:
        check_template(subject="s", body_html="&amp;" * (MAX_RENDERED_BODY // 5 + 1))
    assert raised.value.field == "body_html"


@pytest.mark.parametrize(
    ("body_html", "html", "text"),
    [
        (  # the block the unsubscribe option adds: its own paragraph
            'Hi<br><br><a href="{{unsubscribe_url}}">Unsubscribe</a>',
            'Hi<br><br>Sam<br><br><a href="{url}">Unsubscribe</a>',
            "Hi\n\nSam\n\nUnsubscribe ({url})",
        ),
        (  # only the link
            '<a href="{{unsubscribe_url}}">Unsubscribe</a>',
            'Sam<br><br><a href="{url}">Unsubscribe</a>',
            "Sam\n\nUnsubscribe ({url})",
        ),
        (  # the link mid-body: not a footer
            'Stop? <a href="{{unsubscribe_url}}">here</a><br><br>Bye',
            'Stop? <a href="{url}">here</a><br><br>Bye<br><br>Sam',
            "Stop? here ({url})\n\nBye\n\nSam",
        ),
        (  # values with blank lines before the footer do not move it
            "{{a}}<br><br>{{a}}<br><br>" + '<a href="{{unsubscribe_url}}">Unsubscribe</a>',
            'x<br><br>x<br><br>Sam<br><br><a href="{url}">Unsubscribe</a>',
            "x\n\nx\n\nSam\n\nUnsubscribe ({url})",
        ),
    ],
)
def test_the_signature_goes_before_the_unsubscribe_footer(lead, body_html, html, text):
    variant = step_one_variant(lead.campaign, body_html=body_html)
    email = render_variant(
        variant, {"a": "x"}, seed="s", unsubscribe_url="https://u.test/1", signature="Sam"
    )
    assert email.body_html == html.format(url="https://u.test/1")
    assert email.body_text == text.format(url="https://u.test/1")
