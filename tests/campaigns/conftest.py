import pytest

from tests.campaigns.outreach import Outreach, make_campaign, make_inbox, start_clock


@pytest.fixture
def outreach(alice, mailbox, settings):
    """An active two-step campaign sending through real SMTP and IMAP servers (see outreach.py).

    Sends are not spaced by a gap (REACHKIT_SEND_GAP_SECONDS 0,0) unless a test says so.
    """
    settings.SEND_GAP_SECONDS = (0, 0)
    traveller = start_clock()
    clock = traveller.start()
    inbox = make_inbox(alice.workspace, mailbox)
    campaign = make_campaign(alice.workspace, [inbox])
    yield Outreach(campaign=campaign, inbox=inbox, mailbox=mailbox, clock=clock)
    traveller.stop()
