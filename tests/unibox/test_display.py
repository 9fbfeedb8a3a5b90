from unibox.display import safe_html


def test_scripts_event_handlers_and_styles_are_dropped() -> None:
    html = (
        '<p onclick="steal()" style="background:url(https://t.example/x)">Hi</p>'
        "<script>alert(1)</script><iframe src='https://evil.example'></iframe>"
        "<form action='https://evil.example'><input name=a></form>"
    )
    cleaned = safe_html(html)
    assert "Hi" in cleaned
    for needle in ("onclick", "style", "script", "alert", "iframe", "form", "input"):
        assert needle not in cleaned


def test_remote_images_lose_their_source_and_inline_ones_keep_it() -> None:
    cleaned = safe_html(
        '<img src="https://track.example/pixel.gif?u=1" alt="pixel">'
        '<img src="cid:logo@example.com" alt="logo">'
        '<img src="data:image/png;base64,iVBORw0KGgo=" alt="dot">'
        '<img srcset="https://track.example/2x.gif 2x">'
    )
    assert "track.example" not in cleaned
    assert 'src="cid:logo@example.com"' in cleaned
    assert 'src="data:image/png;base64,iVBORw0KGgo="' in cleaned


def test_links_stay_clickable_only_for_web_and_mail_and_tell_nothing_to_their_target() -> None:
    cleaned = safe_html(
        '<a href="https://example.com/page">site</a><a href="mailto:a@example.com">mail</a>'
        '<a href="javascript:alert(1)">js</a><a href="data:text/html,<script>x</script>">d</a>'
    )
    assert 'href="https://example.com/page"' in cleaned
    assert 'href="mailto:a@example.com"' in cleaned
    assert "javascript" not in cleaned
    assert "data:text" not in cleaned
    assert 'rel="noopener noreferrer nofollow"' in cleaned


def test_bad_bytes_and_empty_input_do_not_break_it() -> None:
    assert safe_html("") == ""
    assert "\x00" not in safe_html("<p>a\x00b</p>")
    assert safe_html("<p>\ud800x</p>").encode("utf-8")
