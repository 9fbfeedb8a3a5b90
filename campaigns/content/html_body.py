"""Variant bodies: the stored HTML (nh3, a small allowlist) and the plain text derived from it.

The stored HTML keeps `<b> <i> <u> <a href> <img src alt width height>` and `<br>`, the one
structure tag: paragraphs, blocks, list items, headings and table rows become line breaks. Merge
tags are plain text to nh3, so they survive byte for byte — in text, in `href` and in `src` (nh3
neither percent-encodes nor drops relative-looking URLs such as `{{website}}`) — except that `&`,
`<` and `>` (and `"` in an attribute) come back as entities, which the renderer decodes.

Normalising the HTML of a template cannot judge URLs a merge tag completes at send time
(`<a href="{{website}}">` with a `javascript:` value): run `normalize_html` again on the rendered
HTML of an email (it is idempotent) to drop those.
"""

from __future__ import annotations

import re
from html import unescape

import nh3

from leads.variables import normalize_variable_name

ALLOWED_TAGS = {"b", "i", "u", "a", "img"}
ALLOWED_ATTRIBUTES = {"a": {"href"}, "img": {"src", "alt", "width", "height"}}
# `data:` is left out on purpose, images included: mail clients block or mangle inline data URLs,
# and it is one more way to smuggle a document into an `href`.
URL_SCHEMES = {"http", "https", "mailto", "tel"}
UNSUBSCRIBE_BLOCK = '<br><br><a href="{{unsubscribe_url}}">Unsubscribe</a>'

# Structure nh3 keeps for a moment so that it can become line breaks. A paragraph-like element
# ends with a blank line (it has margins in a browser); a block ends the line; a cell is a space.
_PARAGRAPHS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "ul", "ol", "dl", "table"}
_PARAGRAPHS |= {"pre", "hr"}
_BLOCKS = {"div", "li", "tr", "dt", "dd", "caption", "section", "article", "header", "footer"}
_BLOCKS |= {"aside", "nav", "main", "figure", "figcaption", "address", "center"}
_CELLS = {"td", "th"}
# Elements whose text is not part of the message: dropped with their content.
_DROPPED = {"script", "style", "title", "template", "noscript", "textarea", "select", "iframe"}
_DROPPED |= {"object", "head"}

_MAX_BREAKS = 2
_DIMENSION = re.compile(r"\d{1,5}%?\Z")
# nh3's output is canonical (lower-case names, double-quoted attributes, `<` and `>` escaped in
# text and attributes), so a regular expression tokenises it exactly.
_TOKEN = re.compile(r"<(/?)([a-z0-9]+)([^>]*)>|[^<]+")
_ATTRIBUTE = re.compile(r'([a-z-]+)="([^"]*)"')
_WHITESPACE = re.compile(r"[ \t\n\r\f]+")
_BLANK_LINE = re.compile(r"(?:&nbsp;| )*\Z")
_BLANK_LINES = re.compile(r"\n{3,}")
_LINK = re.compile(r'<a href="([^"]*)">.*?</a>', re.DOTALL)


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    if attribute in ("width", "height"):
        return value.strip() if _DIMENSION.match(value.strip()) else None
    return value


_cleaner = nh3.Cleaner(
    tags=ALLOWED_TAGS | {"br"} | _PARAGRAPHS | _BLOCKS | _CELLS,
    clean_content_tags=_DROPPED,
    # "*" empty: nh3 otherwise keeps `title` and `lang` on every tag.
    attributes={"*": set(), **ALLOWED_ATTRIBUTES},
    attribute_filter=_attribute_filter,
    url_schemes=URL_SCHEMES,
    link_rel=None,
    strip_comments=True,
)


def normalize_html(html: str) -> str:
    """The stored `body_html`: the allowlist only, structure as `<br>`. Idempotent.

    1. nh3 drops scripts, styles, comments, unknown attributes and unsafe URLs, unwraps
       unknown tags, and keeps structure tags for step 2.
    2. One pass over nh3's tokens turns structure into pending line breaks: `<br>` adds one, a
       block ensures one, a paragraph ensures two. They are written (at most two) only when
       visible content follows, so leading and trailing breaks vanish.
    3. Opening tags and spaces wait for visible content too, so an element left empty is
       dropped, and no space starts or ends a line. `<a>` without `href` (or inside another
       link) is unwrapped, `<img>` without `src` dropped.
    """
    out: list[str] = []
    opened: list[str] = []  # opening tags waiting for content
    links: list[bool] = []  # per open <a>: is it kept?
    in_link = False  # a kept <a> is open
    breaks = 0
    space = False  # a space waits for content

    def write(token: str) -> None:
        nonlocal breaks, space
        if breaks and out:
            out.append("<br>" * min(breaks, _MAX_BREAKS))
        elif space and out:
            out.append(" ")
        breaks, space = 0, False
        out.extend(opened)
        opened.clear()
        out.append(token)

    def write_text(text: str) -> None:
        nonlocal space
        text = _WHITESPACE.sub(" ", text)
        if (breaks or not out) and _BLANK_LINE.match(text):
            return  # `<p>&nbsp;</p>`, an editor's blank line: the breaks say it already
        words = text.strip(" ")
        if text[:1] == " " or not words:
            space = True
        if words:
            write(words)
        if words and text[-1] == " ":
            space = True

    def close(tag: str) -> None:
        if opened:
            opened.pop()  # nh3 nests properly: this closes the last waiting tag, left empty
        else:
            out.append(tag)

    for match in _TOKEN.finditer(_cleaner.clean(html)):
        closing, name, attributes = match.groups()
        if name is None:
            write_text(match.group())
        elif name == "br":
            breaks += 1
        elif name in _PARAGRAPHS:
            breaks = max(breaks, 2)
        elif name in _BLOCKS:
            breaks = max(breaks, 1)
        elif name in _CELLS:
            space = space or bool(closing)
        elif name == "img":
            if "src" in dict(_ATTRIBUTE.findall(attributes)):
                write(match.group())
        elif name == "a" and not closing:
            # Unwrapped: a link without a URL, and a link inside a link (nh3 lets a table cell
            # nest them; once the table is gone a browser would split them differently).
            keep = not in_link and "href" in dict(_ATTRIBUTE.findall(attributes))
            links.append(keep)
            if keep:
                in_link = True
                opened.append(match.group())
        elif name == "a":
            if links.pop():
                in_link = False
                close(match.group())
        elif not closing:
            opened.append(match.group())
        else:
            close(match.group())
    return "".join(out)


def _link_text(text: str, url: str) -> str:
    """A link as plain text: "text (url)", or the URL alone when the text says nothing more."""
    text = _WHITESPACE.sub(" ", text).strip()
    if not url:
        return text
    if not text or text == url:
        return url
    if url.lower().startswith("mailto:") and text == url[len("mailto:") :]:
        return text
    return f"{text} ({url})"


def html_to_text(html: str) -> str:
    """The derived `body_text`: lines from `<br>`, links as "text (url)", images as their alt.

    Merge tags stay as written (entities decoded), to be rendered later in text mode.
    """
    out: list[str] = []
    link: list[str] | None = None  # the text of the link being read
    href = ""
    for match in _TOKEN.finditer(normalize_html(html)):
        closing, name, attributes = match.groups()
        attrs = {key: unescape(value) for key, value in _ATTRIBUTE.findall(attributes or "")}
        target = out if link is None else link
        if name is None:
            target.append(unescape(match.group()))
        elif name == "br":
            target.append("\n")
        elif name == "img":
            target.append(attrs.get("alt", ""))
        elif name == "a" and not closing:
            link, href = [], attrs.get("href", "").strip()
        elif name == "a" and link is not None:
            out.append(_link_text("".join(link), href))
            link = None
    text = "".join(out).replace("\xa0", " ")
    text = "\n".join(_WHITESPACE.sub(" ", line).strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", text).strip()


def _is_unsubscribe_href(href: str) -> bool:
    """True for an `href` that is exactly one `{{unsubscribe_url}}` tag (any spelling)."""
    href = unescape(href).strip()
    inner = href[2:-2]
    if not (href.startswith("{{") and href.endswith("}}")) or "{{" in inner or "}}" in inner:
        return False
    name = inner.split("|")[0]
    return normalize_variable_name(name) == "unsubscribe_url"


def has_unsubscribe_link(html: str | None) -> bool:
    """Does the body link to `{{unsubscribe_url}}`? A bare tag outside a link does not count."""
    if not html:
        return False
    return any(_is_unsubscribe_href(href) for href in _LINK.findall(normalize_html(html)))


_TAG = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)


def split_footer(body: str, *, html: bool) -> tuple[str, str]:
    """`(separator, footer)`: the end of the body that holds the unsubscribe link, and what
    separates it from the rest; `("", "")` when the body does not end with the link.

    The footer is the body's last paragraph (after a blank line: `<br><br>` in the
    normalised HTML), or its last line when it is one paragraph, or the whole body when it
    is only that line. In the HTML the link is a link to `{{unsubscribe_url}}`, in the text
    the tag itself. The sender puts the inbox's signature before it: the footer is last.
    """
    line = "<br>" if html else "\n"
    for separator in (line * 2, line, ""):
        if separator and separator not in body:
            continue
        last = body.rpartition(separator)[2] if separator else body
        if html:
            holds = any(_is_unsubscribe_href(href) for href in _LINK.findall(last))
        else:
            holds = any(_is_unsubscribe_href(f"{{{{{tag}}}}}") for tag in _TAG.findall(last))
        return (separator, last) if holds else ("", "")
    return "", ""


def ensure_unsubscribe_link(html: str | None) -> str:
    """The normalised body, with `UNSUBSCRIBE_BLOCK` appended unless it already has the link."""
    body = normalize_html(html or "")
    if has_unsubscribe_link(body):
        return body
    return normalize_html(body + UNSUBSCRIBE_BLOCK)


def remove_unsubscribe_link(html: str | None) -> str | None:
    """The normalised body without its unsubscribe links (text included) and their breaks.

    None stays None; a body that was only the block becomes "".
    """
    if html is None:
        return None

    def drop(match: re.Match[str]) -> str:
        return "" if _is_unsubscribe_href(match.group(1)) else match.group()

    # Normalising again collapses the breaks the link leaves behind and trims them at the end.
    return normalize_html(_LINK.sub(drop, normalize_html(html)))
