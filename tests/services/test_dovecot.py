"""The test Dovecot itself: users added while it runs, TLS both ways, folders and APPEND."""

from email.message import EmailMessage

import pytest
from imapclient import IMAPClient
from imapclient.exceptions import LoginError
from imapclient.imapclient import JUNK, SENT


def test_a_user_added_while_it_runs_can_log_in_and_a_wrong_password_cannot(dovecot):
    email, password = dovecot.new_user()
    with (
        IMAPClient(dovecot.host, dovecot.imap_port, ssl=False, timeout=5) as client,
        pytest.raises(LoginError),
    ):
        client.login(email, password + "x")
    with IMAPClient(dovecot.host, dovecot.imap_port, ssl=False, timeout=5) as client:
        client.login(email, password)
        assert client.select_folder("INBOX")[b"EXISTS"] == 0


def test_changing_a_password_takes_effect_at_once(dovecot):
    email, _ = dovecot.new_user()
    dovecot.add_user(email, "another-one")
    with IMAPClient(dovecot.host, dovecot.imap_port, ssl=False, timeout=5) as client:
        assert b"Logged in" in client.login(email, "another-one")


def test_starttls_and_implicit_tls_present_the_test_certificate(dovecot, tls_certificates):
    email, password = dovecot.new_user()
    with IMAPClient(dovecot.host, dovecot.imap_port, ssl=False, timeout=5) as client:
        assert b"STARTTLS" in client.capabilities()
        client.starttls(tls_certificates.client_context())
        client.login(email, password)
    with IMAPClient(
        dovecot.host,
        dovecot.imaps_port,
        ssl=True,
        ssl_context=tls_certificates.client_context(),
        timeout=5,
    ) as client:
        client.login(email, password)


def test_sent_and_junk_carry_their_special_use_flags(dovecot):
    email, _ = dovecot.new_user()
    with dovecot.client(email) as client:
        flags = {name: set(folder_flags) for folder_flags, _, name in client.list_folders()}
    assert SENT in flags["Sent"]
    assert JUNK in flags["Junk"]
    assert "INBOX" in flags


def test_append_delivers_into_a_folder_and_messages_reads_it_back(dovecot):
    email, _ = dovecot.new_user()
    reply = EmailMessage()
    reply["From"] = "bob@acme.com"
    reply["To"] = email
    reply["Subject"] = "Re: Quick question"
    reply.set_content("Sure, call me tomorrow.")

    dovecot.append(email, reply)
    dovecot.append(email, b"Subject: junk\r\n\r\nbuy now\r\n", folder="Junk", flags=("\\Seen",))

    [raw] = dovecot.messages(email)
    assert b"Subject: Re: Quick question" in raw
    assert dovecot.messages(email, "Junk") == [b"Subject: junk\r\n\r\nbuy now\r\n"]
    assert dovecot.messages(email, "Sent") == []
