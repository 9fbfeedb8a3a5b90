import pytest

from tests.campaigns.outreach import running_outreach
from tests.webhooks.receiver import Receiver


@pytest.fixture(autouse=True)
def _webhooks_reach_loopback(settings):
    """The suite's receivers listen on loopback over plain HTTP: let webhooks reach them, as a
    self-hoster would allow their own network (the SSRF tests set it back)."""
    settings.WEBHOOK_ALLOW_PRIVATE = True
    settings.WEBHOOK_ALLOW_HTTP = True
    settings.WEBHOOK_TIMEOUT_SECONDS = 2


@pytest.fixture
def receiver():
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def receiver_factory():
    started: list[Receiver] = []

    def make(answers=None) -> Receiver:
        server = Receiver(answers).start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def outreach(alice, mailbox, settings):
    """An active campaign sending through real servers (tests/campaigns/outreach.py)."""
    settings.SEND_GAP_SECONDS = (0, 0)
    with running_outreach(alice.workspace, mailbox) as running:
        yield running
