import pytest

from tests.campaigns.outreach import running_outreach


@pytest.fixture
def outreach(alice, mailbox, settings, tmp_path):
    """An active two-step campaign sending through real SMTP and IMAP servers
    (tests/campaigns/outreach.py), its inbox's mail in the test Dovecot; attachments are
    stored under the test's own folder."""
    settings.SEND_GAP_SECONDS = (0, 0)
    settings.MEDIA_ROOT = tmp_path / "media"
    with running_outreach(alice.workspace, mailbox) as outreach:
        yield outreach
