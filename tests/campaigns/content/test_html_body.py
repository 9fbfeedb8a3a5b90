import html
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from campaigns.content.html_body import (
    ALLOWED_TAGS,
    UNSUBSCRIBE_BLOCK,
    ensure_unsubscribe_link,
    has_unsubscribe_link,
    html_to_text,
    normalize_html,
    remove_unsubscribe_link,
)
from campaigns.content.merge_tags import render

PROPERTY = settings(derandomize=True, database=None, deadline=None, max_examples=300)

UNSUBSCRIBE_LINK = '<a href="{{unsubscribe_url}}">Unsubscribe</a>'


# The allowlist


def test_allowed_tags_and_attributes_are_kept():
    body = (
        '<b>bold</b> <i>it</i> <u>under</u> <a href="https://x.example/a?b=1&amp;c=2">link</a> '
        '<img src="https://x.example/i.png" alt="Logo" width="120" height="40">'
    )
    assert normalize_html(body) == body
    assert {"b", "i", "u", "a", "img"} == ALLOWED_TAGS


@pytest.mark.parametrize(
    ("body", "normal"),
    [
        ("<span>one</span> <font color=red>two</font>", "one two"),
        ("<strong>s</strong><em>e</em><small>c</small>", "sec"),
        ("<form><button>press</button></form>", "press"),
        ("<custom-tag>kept text</custom-tag>", "kept text"),
    ],
)
def test_other_tags_are_unwrapped_and_their_text_kept(body, normal):
    assert normalize_html(body) == normal


def test_other_attributes_are_dropped():
    body = (
        '<a href="https://x.example" target="_blank" rel="x" class="c" style="color:red" '
        'onclick="alert(1)" title="t" lang="en">x</a><b style="x" id="y" title="t">b</b>'
        '<img src="https://x.example/i.png" onerror="alert(1)" style="x" alt="a">'
    )
    assert normalize_html(body) == (
        '<a href="https://x.example">x</a><b>b</b><img src="https://x.example/i.png" alt="a">'
    )


@pytest.mark.parametrize("value", ["abc", "10px;", "1e3", "-5", "100000000"])
def test_image_dimensions_must_be_numbers(value):
    assert normalize_html(f'<img src="i.png" width="{value}" height="7">') == (
        '<img src="i.png" height="7">'
    )


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "  javascript:alert(1)",
        "java&#x09;script:alert(1)",
        "&#106;avascript:alert(1)",
        "vbscript:msgbox(1)",
        "data:text/html;base64,PHNjcmlwdD4=",
        "data:image/png;base64,iVBORw0KGgo=",
    ],
)
def test_unsafe_urls_are_removed_from_links_and_images(url):
    # A link without a URL is unwrapped, an image without a source dropped.
    assert normalize_html(f'<a href="{url}">click</a> <img src="{url}" alt="pic">!') == "click !"


@pytest.mark.parametrize(
    "url", ["https://x.example", "http://x.example", "mailto:a@x.example", "tel:+15550100"]
)
def test_ordinary_urls_are_kept(url):
    assert normalize_html(f'<a href="{url}">x</a>') == f'<a href="{url}">x</a>'


@pytest.mark.parametrize(
    "body",
    [
        "<script>alert('x')</script>Hi",
        "<style>p { color: red }</style>Hi",
        "<script type='module'>import x from 'y'</script>H<!-- a comment -->i",
        "<html><head><title>T</title><style>b{}</style></head><body>Hi</body></html>",
        "<noscript>no</noscript><iframe src='x'>frame</iframe>Hi",
    ],
)
def test_scripts_styles_and_their_content_are_removed_entirely(body):
    assert normalize_html(body) == "Hi"


# Structure as <br>


@pytest.mark.parametrize(
    ("body", "normal"),
    [
        ("<p>one</p><p>two</p>", "one<br><br>two"),
        ("<div>one</div><div>two</div>", "one<br>two"),
        ("<div>one</div><div><br></div><div>two</div>", "one<br><br>two"),
        ("<div>one<br></div><div>two</div>", "one<br>two"),
        ("one<br>two<br/>three", "one<br>two<br>three"),
        ("<ul><li>one</li><li>two</li></ul>after", "one<br>two<br><br>after"),
        ("<h1>Title</h1>Body", "Title<br><br>Body"),
        ("<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>", "a b<br>c"),
        ("<blockquote>quoted</blockquote>reply", "quoted<br><br>reply"),
        (
            "<p><b>bold across<br>lines</b></p><p>next</p>",
            "<b>bold across<br>lines</b><br><br>next",
        ),
    ],
)
def test_paragraphs_blocks_and_lines_become_line_breaks(body, normal):
    assert normalize_html(body) == normal


def test_runs_of_breaks_are_capped_at_one_blank_line():
    assert normalize_html("a<br><br><br><br><br>b<p></p><p></p><p>c</p>") == "a<br><br>b<br><br>c"


def test_a_line_of_only_non_breaking_spaces_is_a_blank_line_not_an_extra_one():
    assert normalize_html("<p>a</p><p>&nbsp;</p><p>&nbsp; </p><p>b</p>") == "a<br><br>b"
    assert normalize_html("a&nbsp;&nbsp;b<br>&nbsp;&nbsp;indented") == (
        "a&nbsp;&nbsp;b<br>&nbsp;&nbsp;indented"
    )


def test_a_link_nested_in_a_link_through_a_table_is_unwrapped():
    body = (
        '<a href="https://x.example">one<table><tr><td>'
        '<a href="https://y.example">two</a></td></tr></table></a>'
    )
    assert normalize_html(body) == '<a href="https://x.example">one<br><br>two</a>'


def test_leading_and_trailing_breaks_are_trimmed():
    assert normalize_html("<br><p></p><div><br></div>Hi<br><br><p></p><br>") == "Hi"


def test_whitespace_collapses_and_is_trimmed_around_lines():
    body = "<div>\n    Hello   there,\n</div>\n<div>\n    second\tline  </div>\n"
    assert normalize_html(body) == "Hello there,<br>second line"


def test_empty_elements_are_dropped_and_spaces_kept_between_words_only():
    body = " a<b></b><i> </i><a href='https://x.example'></a>b <u> </u>"
    assert normalize_html(body) == "a b"


# Merge tags


@pytest.mark.parametrize(
    "body",
    [
        "Hi {{first_name}}, {{ First Name | there }}!",
        '<a href="{{unsubscribe_url}}">Unsubscribe</a>',
        '<a href="{{website}}">our site</a>',
        '<a href="{{ website | https://x.example/a }}">site</a>',
        '<a href="https://x.example/?email={{email}}">x</a>',
        '<img src="{{LOOM|video}}" alt="{{first_name}}">',
        '<img src="{{logo_url}}">{{SPINTAX|Hi|Hello|Hey}} {{LOOM|video|watch}}',
        "\\{{literal}} }} {{company|the team}}",
    ],
)
def test_merge_tags_survive_normalisation_byte_for_byte(body):
    assert normalize_html(body) == body


def test_entities_in_merge_tags_are_decoded_when_rendering():
    stored = normalize_html("{{company|Smith & Co}}")
    assert stored == "{{company|Smith &amp; Co}}"
    assert render(stored, {}, seed="s", escape_html=True).text == "Smith &amp; Co"


def test_normalising_a_rendered_email_drops_a_url_a_value_made_unsafe():
    rendered = render(
        '<a href="{{website}}">site</a>', {"website": "javascript:alert(1)"}, seed="s"
    ).text
    assert normalize_html(rendered) == "site"


# Plain text


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ("one<br>two", "one\ntwo"),
        ("<p>one</p><p>two</p>", "one\n\ntwo"),
        ('See <a href="https://x.example">our site</a>.', "See our site (https://x.example)."),
        ('<a href="https://x.example">https://x.example</a>', "https://x.example"),
        ('<a href="https://x.example"><img src="i.png"></a>', "https://x.example"),
        (
            '<a href="https://x.example"><img src="i.png" alt="Logo"></a>',
            "Logo (https://x.example)",
        ),
        ('<a href="mailto:ann@x.example">ann@x.example</a>', "ann@x.example"),
        ('<img src="i.png" alt="Our logo"> below', "Our logo below"),
        ("Tom &amp; Jerry &lt;3 &quot;q&quot; caf&eacute;", 'Tom & Jerry <3 "q" café'),
        ("a&nbsp;&nbsp;b   c\n\td", "a b c d"),
        ("<b>bold</b> and <i>it</i>", "bold and it"),
        ('a<br><br><img src="spacer.gif"><br><br>b', "a\n\nb"),
    ],
)
def test_html_to_text_reads_as_a_plain_text_email(body, text):
    assert html_to_text(body) == text


def test_html_to_text_keeps_merge_tags_for_text_mode_rendering():
    body = normalize_html(
        '<p>Hi {{first_name|there}},</p><p>{{company|Smith & Co}} <a href="{{website}}">site</a>'
        "</p>" + UNSUBSCRIBE_BLOCK
    )
    assert html_to_text(body) == (
        "Hi {{first_name|there}},\n\n{{company|Smith & Co}} site ({{website}})\n\n"
        "Unsubscribe ({{unsubscribe_url}})"
    )


def test_html_and_text_bodies_pick_the_same_spintax():
    body = normalize_html(
        '<a href="{{SPINTAX|https://a.example|https://b.example}}">{{SPINTAX|1|2|3|4|5}}</a> '
        '<img src="{{SPINTAX|x.png|y.png}}" alt="pic"> {{SPINTAX|1|2|3|4|5}}'
    )
    text = html_to_text(body)
    for n in range(40):
        seed = f"lead-{n}:variant-a"
        as_html = render(body, {}, seed=seed, escape_html=True).text
        as_text = render(text, {}, seed=seed).text
        assert html_to_text(as_html) == as_text


# Unsubscribe link


@pytest.mark.parametrize(
    "body",
    [
        UNSUBSCRIBE_LINK,
        "Bye<br><br>" + UNSUBSCRIBE_LINK,
        "<a href='{{ Unsubscribe URL }}'>stop these</a>",
        '<p>Click <a href="{{unsubscribeUrl}}" style="x">here</a>.</p>',
    ],
)
def test_a_link_to_unsubscribe_url_counts(body):
    assert has_unsubscribe_link(body)


@pytest.mark.parametrize(
    "body",
    [
        None,
        "",
        "Unsubscribe: {{unsubscribe_url}}",
        '<a href="https://x.example/unsubscribe">Unsubscribe</a>',
        '<a href="https://x.example/?u={{unsubscribe_url}}">Unsubscribe</a>',
        '<a href="{{unsubscribe_link}}">Unsubscribe</a>',
        '<a href="x{{unsubscribe_url}}">Unsubscribe</a>',
        "<script>'<a href=\"{{unsubscribe_url}}\">x</a>'</script>",
    ],
)
def test_anything_else_does_not_count(body):
    assert not has_unsubscribe_link(body)


@pytest.mark.parametrize(
    ("body", "ensured"),
    [
        (None, UNSUBSCRIBE_LINK),
        ("", UNSUBSCRIBE_LINK),
        ("<p>Hi</p>", "Hi" + UNSUBSCRIBE_BLOCK),
        ("<p>Hi</p><p></p><br>", "Hi" + UNSUBSCRIBE_BLOCK),
        ("Hi {{unsubscribe_url}}", "Hi {{unsubscribe_url}}" + UNSUBSCRIBE_BLOCK),
    ],
)
def test_ensure_appends_the_block_when_the_link_is_missing(body, ensured):
    assert ensure_unsubscribe_link(body) == ensured
    assert ensure_unsubscribe_link(ensured) == ensured


def test_ensure_keeps_an_existing_link_where_it_is():
    body = '<p>Hi</p><p><a href="{{unsubscribe_url}}">Opt out</a> any time.</p>'
    assert ensure_unsubscribe_link(body) == (
        'Hi<br><br><a href="{{unsubscribe_url}}">Opt out</a> any time.'
    )


@pytest.mark.parametrize(
    ("body", "removed"),
    [
        (None, None),
        ("", ""),
        (UNSUBSCRIBE_BLOCK, ""),
        ("<p>Hi</p><p>Bye</p>" + UNSUBSCRIBE_BLOCK, "Hi<br><br>Bye"),
        ("Hi" + UNSUBSCRIBE_BLOCK + "<br><br>P.S. bye", "Hi<br><br>P.S. bye"),
        (
            'Hi <a href="https://x.example">site</a><br><a href="{{ unsubscribe_url }}">x</a>',
            'Hi <a href="https://x.example">site</a>',
        ),
    ],
)
def test_remove_takes_out_the_link_and_its_breaks(body, removed):
    assert remove_unsubscribe_link(body) == removed


def test_ensure_then_remove_gives_back_the_normalised_body():
    body = "<p>Hi {{first_name}},</p><div>see <b>this</b></div>"
    assert remove_unsubscribe_link(ensure_unsubscribe_link(body)) == normalize_html(body)


# Properties

FRAGMENTS = [
    "<p>", "</p>", "<div>", "</div>", "<br>", "<br/>", "<b>", "</b>", "<i>", "</i>", "<u>", "</u>",
    "<li>", "<h2>", "</h2>", "<table><tr><td>", "</td><td>", "</td></tr></table>", "<span>",
    '<a href="https://x.example">', "<a href='javascript:alert(1)'>", "<a href=JAVASCRIPT:x>",
    '<a href="{{unsubscribe_url}}">', "</a>", '<img src="{{logo}}" alt="a">', "<img src=x>",
    '<img src="data:image/png;base64,AA" onerror="alert(1)">', "<script>alert(1)</script>",
    "<style>b{}</style>", "<scr<script>ipt>alert(1)</script>", "<svg onload=alert(1)>",
    "<iframe src=javascript:alert(1)>", "<!--", "-->", "<", ">", "&", '"', "'", "&nbsp;", "&amp;",
    "&lt;script&gt;", " ", "\n", "text", "{{first_name}}", "{{x|a & b}}", "javascript:",
    "<td>", "<tr>", "</table>", '<a href="https://y.example">', "<pre>", "<ol>", "<blockquote>",
    "<plaintext>", "<textarea>", "<xmp>", "<select><option>", "<math>", "<svg>", "<template>",
    "<body>", "<html>", "<head>", "<title>", "<frameset>", "<noscript>", "\u00a0", "&#123;",
]  # fmt: skip
documents = st.one_of(
    st.text(max_size=40),
    st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=4)), max_size=30).map("".join),
)
_TAG = re.compile(r"<(/?)([a-zA-Z0-9]+)([^>]*)>")
_ATTRIBUTE = re.compile(r'([a-z-]+)="([^"]*)"')
_UNSAFE = re.compile(r"(javascript|vbscript|data):")


@PROPERTY
@given(documents)
def test_normalisation_is_idempotent(document):
    once = normalize_html(document)
    assert normalize_html(once) == once


@PROPERTY
@given(documents)
def test_normalised_html_holds_only_the_allowlist_and_no_unsafe_url(document):
    normal = normalize_html(document)
    assert "<script" not in normal.lower()
    for _closing, name, attributes in _TAG.findall(normal):
        assert name in ALLOWED_TAGS | {"br"}
        for _attribute, value in _ATTRIBUTE.findall(attributes):
            squeezed = re.sub(r"[\x00-\x20]", "", html.unescape(value)).lower()
            assert not _UNSAFE.match(squeezed)
    assert "<br><br><br>" not in normal
    assert not normal.startswith("<br>")
    assert not normal.endswith("<br>")


@PROPERTY
@given(documents)
def test_plain_text_never_fails_and_never_holds_markup_from_the_html(document):
    text = html_to_text(document)
    if "&lt;" not in normalize_html(document):  # else a "<" was text all along
        assert "<" not in text
    assert text == text.strip()
    assert "\n\n\n" not in text


@PROPERTY
@given(documents)
def test_ensure_and_remove_are_idempotent(document):
    ensured = ensure_unsubscribe_link(document)
    assert has_unsubscribe_link(ensured)
    assert ensure_unsubscribe_link(ensured) == ensured
    removed = remove_unsubscribe_link(document)
    assert removed is not None
    assert not has_unsubscribe_link(removed)
    assert remove_unsubscribe_link(removed) == removed


names = st.text(alphabet="abcxyz_ ", min_size=1, max_size=8).filter(str.strip)
plain = st.text(alphabet=st.sampled_from(list("abc XYZ.,:/?!-'é中|")), max_size=8)
tags = st.tuples(names, plain).map(lambda tag: "{{" + "|".join(tag) + "}}")


@PROPERTY
@given(tags, st.sampled_from(["{}", "<b>{}</b>", '<a href="{}">x</a>', '<img src="{}">']))
def test_merge_tags_come_through_unchanged_in_text_and_attributes(tag, place):
    tag = " ".join(tag.split())  # normalisation collapses runs of whitespace
    body = place.format(tag)
    assert tag in normalize_html(f"<p>a</p>{body}<p>b</p>")
