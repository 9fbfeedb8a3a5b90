"""The test SMTP server itself: AUTH, STARTTLS, implicit TLS, recording and scripted replies."""

import smtplib
import ssl
import threading
import time
from email.message import EmailMessage

import pytest


def a_message(to: str = "bob@acme.com") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "alice@mail.test"
    message["To"] = to
    message["Subject"] = "Quick question"
    message.set_content("Hi Bob,\n\nDo you have a minute?\n")
    return message


def test_it_records_the_envelope_raw_bytes_and_parsed_message(smtp_server):
    smtp_server.add_user("alice@mail.test", "s3cret")
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=5) as client:
        client.login("alice@mail.test", "s3cret")
        client.send_message(a_message(), to_addrs=["bob@acme.com", "carol@acme.com"])

    [received] = smtp_server.messages
    assert received.mail_from == "alice@mail.test"
    assert received.rcpt_tos == ["bob@acme.com", "carol@acme.com"]
    assert b"Subject: Quick question" in received.raw
    assert received.message["Subject"] == "Quick question"
    assert "Do you have a minute?" in received.message.get_content()
    assert received.authenticated_as == "alice@mail.test"
    assert received.replied is True


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_auth_accepts_the_right_password_and_rejects_a_wrong_one(smtp_server, mechanism):
    smtp_server.add_user("alice@mail.test", "s3cret")
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=5) as client:
        client.ehlo()
        client.user, client.password = "alice@mail.test", "wrong"
        with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
            client.auth(mechanism, getattr(client, f"auth_{mechanism.lower()}"))
        assert refused.value.smtp_code == 535
        client.password = "s3cret"
        code, _ = client.auth(mechanism, getattr(client, f"auth_{mechanism.lower()}"))
        assert code == 235

    assert [(a.mechanism, a.succeeded) for a in smtp_server.auth_attempts] == [
        (mechanism, False),
        (mechanism, True),
    ]


def test_starttls_is_offered_and_auth_waits_for_it(smtp_server_factory, tls_certificates):
    server = smtp_server_factory(security="starttls", users={"alice@mail.test": "s3cret"})
    with smtplib.SMTP(server.host, server.port, timeout=5) as client:
        client.ehlo()
        assert client.has_extn("starttls")
        assert not client.has_extn("auth")
        client.starttls(context=tls_certificates.client_context())
        client.ehlo()
        assert client.has_extn("auth")
        client.login("alice@mail.test", "s3cret")
        client.send_message(a_message())
    assert len(server.messages) == 1


def test_implicit_tls_verifies_against_the_test_ca(smtp_server_factory, tls_certificates):
    server = smtp_server_factory(security="ssl", users={"alice@mail.test": "s3cret"})
    context = tls_certificates.client_context()
    with smtplib.SMTP_SSL(server.host, server.port, context=context, timeout=5) as client:
        client.login("alice@mail.test", "s3cret")
        client.send_message(a_message())
    assert len(server.messages) == 1

    with pytest.raises(ssl.SSLCertVerificationError):
        smtplib.SMTP_SSL(server.host, server.port, context=ssl.create_default_context(), timeout=5)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
def test_auth_required_refuses_mail_from_strangers(smtp_server_factory):
    server = smtp_server_factory(security="none", auth_required=True)
    with (
        smtplib.SMTP(server.host, server.port, timeout=5) as client,
        pytest.raises(smtplib.SMTPSenderRefused) as refused,
    ):
        client.send_message(a_message())
    assert refused.value.smtp_code == 530
    assert server.messages == []


def test_a_recipient_can_be_answered_with_a_scripted_reply(smtp_server):
    smtp_server.reply_to_rcpt("gone@acme.com", "550 5.1.1 User unknown")
    smtp_server.reply_to_rcpt("busy@acme.com", "451 4.7.1 Try again later")
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=5) as client:
        refused = client.send_message(
            a_message(), to_addrs=["gone@acme.com", "bob@acme.com", "busy@acme.com"]
        )
        with pytest.raises(smtplib.SMTPRecipientsRefused) as all_refused:
            client.send_message(a_message(), to_addrs=["Gone@acme.com"])

    assert refused == {
        "gone@acme.com": (550, b"5.1.1 User unknown"),
        "busy@acme.com": (451, b"4.7.1 Try again later"),
    }
    assert all_refused.value.recipients["Gone@acme.com"][0] == 550
    [received] = smtp_server.messages
    assert received.rcpt_tos == ["bob@acme.com"]


def test_data_can_be_refused_with_a_scripted_reply_once(smtp_server):
    smtp_server.reply_to_data("452 4.3.1 Insufficient system storage")
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=5) as client:
        with pytest.raises(smtplib.SMTPDataError) as refused:
            client.send_message(a_message())
        client.send_message(a_message())
    assert refused.value.smtp_code == 452
    assert len(smtp_server.messages) == 1


def test_the_connection_can_drop_after_data_without_a_reply(smtp_server):
    smtp_server.drop_after_data()
    client = smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=5)
    with pytest.raises(smtplib.SMTPServerDisconnected):
        client.send_message(a_message())
    client.close()

    # The message arrived even though the client never heard so: an unknown outcome.
    [received] = smtp_server.messages
    assert received.replied is False

    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=5) as again:
        again.send_message(a_message())
    assert [message.replied for message in smtp_server.messages] == [False, True]


def test_replies_can_be_slowed_down(smtp_server):
    smtp_server.delay_replies(0.2)
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=5) as client:
        started = time.monotonic()
        client.send_message(a_message())
        assert time.monotonic() - started >= 0.2
    assert len(smtp_server.messages) == 1


def test_a_held_reply_keeps_the_message_and_the_client_waiting_until_released(smtp_server):
    hold = smtp_server.hold_replies()
    outcome: list[object] = []

    def send() -> None:
        with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=5) as client:
            outcome.append(client.send_message(a_message()))

    sender = threading.Thread(target=send)
    sender.start()
    assert hold.held.wait(5)
    # The message is in; its sender is still waiting for the reply.
    assert len(smtp_server.messages) == 1
    sender.join(0.2)
    assert sender.is_alive()
    assert outcome == []

    hold.release()
    sender.join(5)
    assert outcome == [{}]  # accepted for every recipient


def test_reset_forgets_messages_and_script_but_keeps_users(smtp_server):
    smtp_server.add_user("alice@mail.test", "s3cret")
    smtp_server.reply_to_rcpt("bob@acme.com", "550 5.1.1 User unknown")
    smtp_server.reset()
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=5) as client:
        client.login("alice@mail.test", "s3cret")
        client.send_message(a_message())
    assert smtp_server.messages[0].rcpt_tos == ["bob@acme.com"]


def test_a_stopped_server_refuses_connections(smtp_server_factory):
    server = smtp_server_factory()
    port = server.port
    server.stop()
    with pytest.raises(ConnectionRefusedError):
        smtplib.SMTP("127.0.0.1", port, timeout=2)
