import contextlib
import html
import pickle
import time
import tracemalloc
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from campaigns.content.merge_tags import (
    MergeTagError,
    Rendered,
    TooLong,
    escape_literal,
    render,
    validate,
    variables_used,
)

# Deterministic and quick: the same examples on every run, no example database on disk.
PROPERTY = settings(derandomize=True, database=None, deadline=None, max_examples=400)

LEAD = {"first_name": "Ann", "company": "Acme", "video": "https://loom.com/share/abc"}


def text_of(template: str, variables: dict[str, object] | None = None, **options: object) -> str:
    return render(template, LEAD if variables is None else variables, seed="s", **options).text


# Variables


@pytest.mark.parametrize(
    "template",
    ["{{first_name}}", "{{First Name}}", "{{firstName}}", "{{ first_name }}", "{{FIRST-NAME}}"],
)
def test_spellings_of_a_tag_name_find_one_variable(template):
    assert text_of(f"Hi {template}!") == "Hi Ann!"


@pytest.mark.parametrize("key", ["first_name", "First Name", "firstName"])
def test_mapping_keys_are_normalised_too(key):
    assert text_of("{{first_name}}", {key: "Bo"}) == "Bo"


def test_when_two_keys_normalise_alike_the_first_present_value_wins():
    assert text_of("{{first_name}}", {"First Name": "", "firstName": "Cy", "first_name": "Di"}) == (
        "Cy"
    )


def test_text_outside_tags_is_kept_as_is():
    assert text_of("a } b }} c {d} | e \\ f") == "a } b }} c {d} | e \\ f"


@pytest.mark.parametrize(
    ("value", "shown"), [(3, "3"), (2.5, "2.5"), (True, "True"), (False, "False"), (0, "0")]
)
def test_values_are_shown_as_text(value, shown):
    assert text_of("{{n}}", {"n": value}) == shown


@pytest.mark.parametrize("variables", [{}, {"first_name": None}, {"first_name": ""}])
def test_fallback_replaces_a_missing_none_or_empty_value(variables):
    assert text_of("Hi {{first_name|there}}", variables) == "Hi there"


def test_fallback_is_unused_when_the_value_is_present():
    assert text_of("Hi {{first_name|there}}") == "Hi Ann"


def test_fallback_is_trimmed_and_may_contain_a_pipe():
    assert text_of("{{x| a | b }}", {}) == "a | b"


def test_missing_value_without_fallback_renders_empty_and_is_reported_once_in_order():
    result = render("{{b}}{{a}}{{b}}{{First Name}}{{c|}}", {"first_name": None}, seed="s")
    assert result == Rendered(text="", missing=("b", "a", "first_name"))


def test_empty_fallback_renders_nothing_and_is_not_missing():
    assert render("[{{x|}}]", {}, seed="s") == Rendered(text="[]", missing=())


def test_names_are_entity_decoded_in_both_modes():
    for escape_html in (False, True):
        assert text_of("{{first&nbsp;name}}", escape_html=escape_html) == "Ann"


# Loom


def test_loom_in_text_is_the_url():
    assert text_of("Watch: {{LOOM|video|no video}}") == "Watch: https://loom.com/share/abc"


def test_loom_in_html_is_a_link_with_the_url_escaped_as_an_attribute():
    url = 'https://loom.com/s?a=1&b="2"'
    expected = '<a href="https://loom.com/s?a=1&amp;b=&quot;2&quot;">'
    expected += "https://loom.com/s?a=1&amp;b=&quot;2&quot;</a>"
    assert text_of("{{LOOM|video}}", {"video": url}, escape_html=True) == expected


@pytest.mark.parametrize("variables", [{}, {"video": None}, {"video": ""}, {"video": "  "}])
def test_loom_uses_its_fallback_when_the_column_is_empty(variables):
    assert text_of("{{ LOOM | Video | <no video> }}", variables, escape_html=True) == (
        "&lt;no video&gt;"
    )


def test_loom_without_value_or_fallback_reports_its_column_missing():
    assert render("{{LOOM|My Video}}", {}, seed="s") == Rendered(text="", missing=("my_video",))


def test_loom_value_that_is_not_an_http_url_is_text_not_a_link():
    rendered = text_of("{{LOOM|video}}", {"video": "javascript:alert(1)"}, escape_html=True)
    assert rendered == "javascript:alert(1)"


def test_loom_keyword_is_case_insensitive():
    assert text_of("{{loom|video}}") == "https://loom.com/share/abc"


# Spintax


def test_spintax_is_one_of_its_trimmed_options_and_the_same_for_a_seed():
    template = "{{SPINTAX| Hi | Hello | Hey }}"
    first = render(template, {}, seed="lead-1:variant-a").text
    assert first in {"Hi", "Hello", "Hey"}
    assert all(render(template, {}, seed="lead-1:variant-a").text == first for _ in range(5))


def test_spintax_choices_are_pinned_across_processes_and_releases():
    # A retried or previewed email must match the one sent, even after a restart or a
    # deploy: the choice may not depend on Python's per-process hash() or a library version.
    chosen = [render("{{SPINTAX|a|b|c|d|e|f|g|h}}", {}, seed=f"lead-{n}").text for n in range(8)]
    assert chosen == ["h", "a", "f", "c", "d", "e", "f", "h"]


def test_spintax_keyword_is_case_insensitive():
    assert text_of("{{spintax|only}}") == "only"


def test_spintax_may_have_an_empty_option():
    chosen = {render("{{SPINTAX|a|}}", {}, seed=str(n)).text for n in range(50)}
    assert chosen == {"a", ""}


def test_spintax_choices_spread_over_options_across_1000_seeds():
    counts = Counter(render("{{SPINTAX|a|b|c}}", {}, seed=f"lead-{n}").text for n in range(1000))
    # 1000 draws over 3 options: a standard deviation of about 15 around 333.
    assert set(counts) == {"a", "b", "c"}
    assert all(273 <= count <= 393 for count in counts.values()), counts


@pytest.mark.parametrize(
    "template", ["{{SPINTAX|a|b|c}} {{SPINTAX|a|b|c}}", "{{SPINTAX|a|b|c}} {{SPINTAX|A|B|C}}"]
)
def test_two_spintax_tags_vary_independently(template):
    pairs = Counter(
        tuple(render(template, {}, seed=f"lead-{n}").text.lower().split()) for n in range(900)
    )
    # All nine pairs, about 100 each: the second choice does not follow the first.
    assert len(pairs) == 9
    assert all(60 <= count <= 140 for count in pairs.values()), pairs


def test_spintax_choice_ignores_other_tags_so_html_and_text_bodies_agree():
    spin = "{{SPINTAX|one|two|three|four|five}}"
    for n in range(50):
        seed = f"lead-{n}"
        in_html = render(f'<a href="{{{{SPINTAX|u|v}}}}">{spin}</a>', {}, seed=seed).text
        in_text = render(f"{spin} ({{{{SPINTAX|u|v}}}})", {}, seed=seed).text
        assert in_html.split(">")[1].split("<")[0] == in_text.split(" ")[0]


def test_spintax_accepts_any_string_as_seed_and_option_even_lone_surrogates():
    assert render("{{SPINTAX|\ud800}}", {}, seed="\udfff") == Rendered("\ud800", ())


# Unsubscribe


def test_unsubscribe_url_is_inserted_and_escaped_in_html():
    rendered = render(
        '<a href="{{unsubscribe_url}}">x</a>',
        {},
        seed="s",
        escape_html=True,
        unsubscribe_url="https://r.example/u?t=1&x=2",
    )
    assert rendered == Rendered('<a href="https://r.example/u?t=1&amp;x=2">x</a>', ())


@pytest.mark.parametrize("template", ["{{unsubscribe_url}}", "{{ Unsubscribe URL }}"])
def test_without_a_url_the_unsubscribe_tag_stays_as_written_and_is_not_missing(template):
    variables = {"unsubscribe_url": "https://lead-supplied.example"}
    assert render(template, variables, seed="s") == Rendered(template, ())


def test_variables_used_leaves_out_spintax_and_unsubscribe_and_counts_loom_columns():
    template = (
        "{{Company}} {{SPINTAX|a|b}} {{unsubscribe_url}} {{LOOM|Video Link|x}} "
        "{{company}} {{first_name|there}}"
    )
    assert variables_used(template) == ["company", "video_link", "first_name"]


# Escapes


def test_backslash_makes_braces_literal():
    assert text_of("\\{{first_name}}") == "{{first_name}}"


def test_an_escaped_backslash_before_a_tag_leaves_the_tag_live():
    assert text_of("\\\\{{first_name}}") == "\\Ann"
    assert text_of("\\\\\\{{first_name}}") == "\\{{first_name}}"


def test_backslashes_not_before_braces_are_plain_text():
    assert text_of("C:\\\\share\\{x} {{first_name}}\\") == "C:\\\\share\\{x} Ann\\"


@pytest.mark.parametrize(
    ("text", "escaped"),
    [("{{x}}", "\\{{x}}"), ("\\{{", "\\\\\\{{"), ("{{{", "\\{{{"), ("a}}", "a}}"), ("", "")],
)
def test_escape_literal(text, escaped):
    assert escape_literal(text) == escaped
    assert text_of(escaped, {}) == text


# HTML mode


def test_html_mode_escapes_values_fallbacks_and_options_but_not_the_template():
    template = "<b>{{a}}</b> {{b|<i>&'\"}} {{SPINTAX|<u>}}"
    rendered = text_of(template, {"a": "<script>alert('x')</script>"}, escape_html=True)
    assert rendered == (
        "<b>&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;</b> "
        "&lt;i&gt;&amp;&#x27;&quot; &lt;u&gt;"
    )


def test_html_mode_decodes_entities_in_fallbacks_before_escaping_them_once():
    # nh3 stores "Smith & Co" as "Smith &amp; Co": that must not become "&amp;amp;".
    assert text_of("{{x|Smith &amp; Co}}", {}, escape_html=True) == "Smith &amp; Co"
    assert text_of("{{x|Smith &amp; Co}}", {}) == "Smith &amp; Co"


def test_text_mode_inserts_values_unescaped():
    assert text_of("{{a}}", {"a": "<b>&"}) == "<b>&"


# Errors


@pytest.mark.parametrize(
    ("text", "offset", "message"),
    [
        ("Hi {{first_name", 3, "Unclosed merge tag"),
        ("{{a}} {{", 6, "Unclosed merge tag"),
        ("x {{}}", 2, "Empty merge tag"),
        ("x {{  }}", 2, "Empty merge tag"),
        ("{{|x}}", 0, "Empty merge tag"),
        ("{{&nbsp;}}", 0, "Empty merge tag"),
        ("{{!!}}", 0, "Merge tag name needs a letter or digit"),
        ("ab{{SPINTAX}}", 2, "Spintax tag has no options"),
        ("{{SPINTAX| | }}", 0, "Spintax tag has no options"),
        ("{{LOOM}}", 0, "Loom tag needs a column"),
        ("{{LOOM| |fallback}}", 0, "Loom tag needs a column"),
        # Nested: the offset is the outer tag's, the one left open.
        ("Hi {{first_name {{company}}", 3, "Merge tag not closed before the next '{{'"),
        ("{{a|{{b}}}}", 0, "Merge tag not closed before the next '{{'"),
        # No escapes inside a tag.
        ("{{a|\\{{b}}", 0, "Merge tag not closed before the next '{{'"),
        ("\\{{ok}} {{bad", 8, "Unclosed merge tag"),
    ],
)
def test_malformed_tags_raise_with_the_offset_of_their_opening_braces(text, offset, message):
    with pytest.raises(MergeTagError) as raised:
        validate(text)
    assert (raised.value.offset, raised.value.message) == (offset, message)
    assert text[offset : offset + 2] == "{{"
    with pytest.raises(MergeTagError):
        render(text, {}, seed="s")
    with pytest.raises(MergeTagError):
        variables_used(text)


@pytest.mark.parametrize("text", ["", "plain", "}} {x}", "{{{x}}}", "\\{{", "{{a}}{{b|}}"])
def test_well_formed_text_validates(text):
    assert validate(text) is None  # raises MergeTagError on a malformed tag
    assert render(text, {"a": "1", "b": "2", "x": "X"}, seed="s").missing == ()


def test_merge_tag_error_is_a_value_error_that_says_where():
    error = MergeTagError("Unclosed merge tag", 7)
    assert isinstance(error, ValueError)
    assert str(error) == "Unclosed merge tag at offset 7"
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.message, copy.offset) == ("Unclosed merge tag", 7)


# Linear time on 100 KB+ inputs (a quadratic scanner takes minutes on these).


@pytest.mark.parametrize(
    "text",
    [
        "{{first_name}} " * 20_000,
        "{{SPINTAX|a|b|c}}" * 10_000,
        "\\" * 200_000 + "{{x}}",
        "{{a" + "}" * 200_000,
        "{" * 200_000,
        "x" * 200_000 + "{{",
    ],
)
def test_large_inputs_are_scanned_in_linear_time(text):
    started = time.perf_counter()
    with contextlib.suppress(MergeTagError):
        render(text, LEAD, seed="s", escape_html=True)
    assert time.perf_counter() - started < 1.0


# Properties

TOKENS = [
    "{{", "}}", "{", "}", "|", "\\", " ", "a", "x y", "SPINTAX", "LOOM", "unsubscribe_url",
    "&amp;", "&nbsp;", "<b>", "é", "\n",
]  # fmt: skip
names = st.sampled_from(["a", "A", " x y ", "first_name", "loom", "unsubscribe_url", "&amp;b"])
words = st.text(alphabet=st.characters(blacklist_characters="{}"), max_size=8)
well_formed_tags = st.one_of(
    names.map(lambda name: "{{" + name + "}}"),
    st.tuples(names, words).map(lambda tag: "{{" + "|".join(tag) + "}}"),
    st.tuples(names, words).map(lambda tag: "{{LOOM|" + "|".join(tag) + "}}"),
    st.lists(words, min_size=1, max_size=4).map(
        lambda opts: "{{SPINTAX|a|" + "|".join(opts) + "}}"
    ),
)
templates = st.one_of(
    st.text(max_size=60),
    st.lists(st.one_of(well_formed_tags, st.sampled_from(TOKENS), words), max_size=12).map("".join),
)
values = st.one_of(st.none(), st.text(max_size=10), st.integers(), st.booleans(), st.floats())
variable_maps = st.dictionaries(st.sampled_from(["a", "A", "x y", "loom", "x"]), values)


def error_of(call):
    try:
        call()
    except MergeTagError as error:
        return (error.offset, error.message)
    return None


@PROPERTY
@given(templates)
def test_any_text_validates_or_points_at_an_opening_brace_pair(text):
    error = error_of(lambda: validate(text))
    if error is not None:
        offset, _message = error
        assert 0 <= offset < len(text)
        assert text[offset : offset + 2] == "{{"


@PROPERTY
@given(templates, variable_maps, st.text(max_size=8), st.booleans(), st.none() | st.text())
def test_render_fails_exactly_like_validate_and_only_with_merge_tag_error(
    text, variables, seed, escape_html, unsubscribe_url
):
    def call():
        return render(
            text, variables, seed=seed, escape_html=escape_html, unsubscribe_url=unsubscribe_url
        )

    assert (
        error_of(call) == error_of(lambda: validate(text)) == error_of(lambda: variables_used(text))
    )


@PROPERTY
@given(templates, variable_maps, st.text(max_size=8), st.booleans())
def test_rendering_is_deterministic_for_a_seed(text, variables, seed, escape_html):
    if error_of(lambda: validate(text)) is None:
        first = render(text, variables, seed=seed, escape_html=escape_html)
        assert render(text, dict(variables), seed=seed, escape_html=escape_html) == first


@PROPERTY
@given(templates)
def test_escape_literal_round_trips(text):
    escaped = escape_literal(text)
    assert variables_used(escaped) == []
    for escape_html in (False, True):
        assert render(escaped, LEAD, seed="s", escape_html=escape_html) == Rendered(text, ())


@PROPERTY
@given(st.text(max_size=30), st.text(max_size=30))
def test_html_mode_never_inserts_markup_from_values_or_fallbacks(value, fallback):
    fallback = fallback.replace("{", "").replace("}", "")
    template = "{{v|" + fallback + "}}"
    rendered = render(template, {"v": value}, seed="s", escape_html=True).text
    inserted = value if value else html.unescape(fallback).strip()
    assert rendered == html.escape(inserted)


# A limit on the rendered size


@PROPERTY
@given(templates, variable_maps, st.booleans(), st.integers(min_value=0, max_value=40))
def test_a_limit_changes_nothing_within_it_and_refuses_past_it(text, variables, escape_html, limit):
    if error_of(lambda: validate(text)) is None:
        whole = render(text, variables, seed="s", escape_html=escape_html)
        if len(whole.text) > limit:
            with pytest.raises(TooLong) as raised:
                render(text, variables, seed="s", escape_html=escape_html, limit=limit)
            assert raised.value.limit == limit
        else:
            assert render(text, variables, seed="s", escape_html=escape_html, limit=limit) == whole


@pytest.mark.parametrize(
    ("template", "size"),
    [
        ("ab{{x}}", 4),  # literal text and values
        ("{{missing|fallback}}", 8),
        ("{{SPINTAX|four}}", 4),
        ("{{unsubscribe_url}}", 19),  # a tag left as written counts as written
    ],
)
def test_every_piece_counts_towards_the_limit(template, size):
    assert len(text_of(template, {"x": "cd"}, limit=size)) == size
    with pytest.raises(TooLong):
        text_of(template, {"x": "cd"}, limit=size - 1)


def test_the_limit_counts_what_html_escaping_adds():
    assert text_of("{{x}}", {"x": "<"}, escape_html=True, limit=4) == "&lt;"
    with pytest.raises(TooLong):
        text_of("{{x}}", {"x": "<"}, escape_html=True, limit=3)


def test_rendering_stops_at_the_limit_instead_of_building_the_whole_text():
    template = "{{x}}" * 20_000  # 100 million characters once filled
    tracemalloc.start()
    try:
        with pytest.raises(TooLong):
            render(template, {"x": "x" * 5000}, seed="s", limit=200_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 * 1024 * 1024
