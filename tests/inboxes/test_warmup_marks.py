from email.message import EmailMessage

from django.test import override_settings

from inboxes.warmup_marks import WARMUP_HEADER, is_warmup_message, warmup_token


def test_a_message_with_this_installations_token_is_warmup() -> None:
    message = EmailMessage()
    message[WARMUP_HEADER] = warmup_token()
    assert is_warmup_message(message)


def test_another_installations_token_or_none_is_not_warmup() -> None:
    with override_settings(SECRET_KEY="another installation " * 3):
        foreign = warmup_token()
    message = EmailMessage()
    message[WARMUP_HEADER] = foreign
    assert foreign != warmup_token()
    assert not is_warmup_message(message)
    assert not is_warmup_message(EmailMessage())
    assert not is_warmup_message({WARMUP_HEADER: ""})
