import pytest

from tests.campaigns.outreach import running_outreach


@pytest.fixture
def outreach(alice, mailbox, settings):
    """An active two-step campaign sending through real SMTP and IMAP servers (see outreach.py).

    Sends are not spaced by a gap (REACHKIT_SEND_GAP_SECONDS 0,0) unless a test says so.
    """
    settings.SEND_GAP_SECONDS = (0, 0)
    with running_outreach(alice.workspace, mailbox) as outreach:
        yield outreach
