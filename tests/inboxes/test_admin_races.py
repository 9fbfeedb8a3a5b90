"""An inbox saved in the admin while it is deleted stays deleted (PostgreSQL: row locks
decide). A plain save updated no row, then inserted the inbox again."""

import pytest
from django.db import connection

from inboxes import services
from inboxes.models import Inbox
from tests.inboxes.factories import InboxFactory
from tests.inboxes.test_admin import change_url, form_data
from tests.reachkit.admin_personas import AdminBrowser, staff_member
from tests.reachkit.factories import WorkspaceFactory
from tests.services.races import HeldDeletion, race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def on_postgresql(transactional_db: None) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the races are decided by PostgreSQL's row locks")


@pytest.mark.parametrize("change", [{"first_name": "Kim"}, {"smtp_host": "smtp.globex.com"}])
def test_an_inbox_saved_in_the_admin_while_it_is_deleted_stays_deleted(change):
    workspace = WorkspaceFactory()
    dana = AdminBrowser(staff_member(workspace))
    inbox = InboxFactory(workspace=workspace)
    url = change_url(inbox)
    data = {**form_data(inbox, **change), "csrfmiddlewaretoken": dana.token(url)}
    deletion = HeldDeletion(lambda: services.inbox_delete(inbox=Inbox.objects.get(pk=inbox.pk)))

    # inbox_update and inbox_connection_update lock the inbox: the save waits, then finds
    # it gone, and the admin says so.
    response = race(deletion, lambda: dana.client.post(url, data))

    assert (response.status_code, response["Location"]) == (302, "/admin/")
    assert not Inbox.objects.filter(pk=inbox.pk).exists()
