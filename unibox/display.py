"""Incoming HTML made safe to show: sanitised once, when a message is stored.

nh3 (ammonia) keeps the structure of an email (paragraphs, lists, tables, links) and drops
scripts, event handlers, styles, forms and frames. On top of that, nothing that loads from
the network when the message is opened: remote images are the tracking pixels of other
senders' tools, so an `<img>` keeps its `src` only when it points inside the message
(`cid:`) or is inline data. Links stay clickable (http, https, mailto), and open without
telling the destination where they came from.
"""

import nh3

LINK_SCHEMES = ("http:", "https:", "mailto:")
IMAGE_SCHEMES = ("cid:", "data:image/")


def _keep_attribute(tag: str, attribute: str, value: str) -> str | None:
    scheme = value.strip().lower()
    if tag == "img" and attribute == "src":
        return value if scheme.startswith(IMAGE_SCHEMES) else None
    if attribute in {"href", "cite"}:
        return value if scheme.startswith(LINK_SCHEMES) else None
    if attribute in {"srcset", "background", "longdesc", "usemap"}:
        return None
    return value


_cleaner_options = {
    "url_schemes": {"http", "https", "mailto", "cid", "data"},
    "link_rel": "noopener noreferrer nofollow",
    "attribute_filter": _keep_attribute,
    "strip_comments": True,
}


def safe_html(html: str) -> str:
    """The message's HTML with nothing that runs or phones home; "" stays ""."""
    if not html:
        return ""
    # NUL and lone surrogates can't be stored (PostgreSQL text) and mean nothing in HTML.
    html = html.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")
    return nh3.clean(html, **_cleaner_options)  # type: ignore[arg-type]
