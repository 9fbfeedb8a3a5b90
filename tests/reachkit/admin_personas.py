"""A staff user of one workspace in the back office, and readers for what the pages show.

The staff user holds every model permission Django has (auth's included), so each refusal
the tests see comes from the workspace scoping, not from a missing permission.
"""

import re
from html.parser import HTMLParser
from typing import Any

from django.contrib.auth.models import Permission, User
from django.http import HttpResponse
from django.test import Client

from reachkit.models import Membership, Workspace
from tests.reachkit.factories import UserFactory

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def staff_member(*workspaces: Workspace, username: str = "dana") -> User:
    """A staff user, not a superuser, with every permission and a seat in `workspaces`."""
    user = UserFactory(username=username, is_staff=True, is_superuser=False)
    user.user_permissions.set(Permission.objects.all())
    for workspace in workspaces:
        Membership.objects.create(workspace=workspace, user=user)
    return user


class AdminBrowser:
    """A logged-in browser that sends CSRF tokens the way a page's form does.

    Its client enforces CSRF checks: every POST carries the token read from a page the
    user was served first (the page itself, or the admin index when that page is refused).
    """

    def __init__(self, user: User) -> None:
        self.user = user
        self.client = Client(enforce_csrf_checks=True)
        self.client.force_login(user)

    def get(self, url: str, data: dict[str, Any] | None = None, **kwargs: Any) -> HttpResponse:
        return self.client.get(url, data, **kwargs)

    def token(self, page_url: str) -> str:
        page = self.client.get(page_url)
        if page.status_code != 200:
            page = self.client.get("/admin/")
        match = TOKEN.search(page.content.decode())
        assert match, f"no CSRF token on {page_url}"
        return match.group(1)

    def post(
        self, url: str, data: dict[str, Any], *, form_page: str | None = None, **kwargs: Any
    ) -> HttpResponse:
        token = self.token(form_page or url)
        return self.client.post(url, {**data, "csrfmiddlewaretoken": token}, **kwargs)


class _Options(HTMLParser):
    def __init__(self, select_name: str) -> None:
        super().__init__()
        self.select_name = select_name
        self.inside = False
        self.values: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "select":
            self.inside = attributes.get("name") == self.select_name
        elif tag == "option" and self.inside and attributes.get("value"):
            self.values.append(attributes["value"] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self.inside = False


def select_options(page: HttpResponse, name: str) -> list[str]:
    """The values of the <option>s of the page's <select name=name>, the blank one left out."""
    parser = _Options(name)
    parser.feed(page.content.decode())
    return parser.values


def listed_ids(page: HttpResponse) -> set[str]:
    """The ids of the rows a changelist shows (its action checkboxes)."""
    assert page.status_code == 200, page.status_code
    return set(re.findall(r'name="_selected_action" value="([^"]+)"', page.content.decode()))


def filter_links(page: HttpResponse, parameter: str) -> set[str]:
    """The values a changelist's filter sidebar offers for `parameter`: workspace__id__exact…"""
    return set(re.findall(rf"[?&]{re.escape(parameter)}=([^&\"]+)", page.content.decode()))
