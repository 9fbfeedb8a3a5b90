"""The new text of a reply (unibox.reply_text): the golden replies, then each rule alone."""

from pathlib import Path

import pytest

from unibox import mail
from unibox.reply_text import extract, new_text

GOLDEN = Path(__file__).parent / "data" / "replies"
GOLDEN_FILES = sorted(GOLDEN.glob("*.eml"))


def trimmed(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.split("\n")).strip("\n")


def message(body: str, *, content_type: str = "text/plain") -> mail.EmailMessage:
    raw = (
        "From: Ada <ada@acme.com>\r\nTo: sam@northwind-labs.com\r\nSubject: Re: Hello\r\n"
        f"MIME-Version: 1.0\r\nContent-Type: {content_type}; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n" + body.replace("\n", "\r\n")
    )
    return mail.parse(raw.encode())


def test_the_golden_set_is_large_and_covers_every_supported_language():
    languages = {path.stem.rsplit("-", 1)[1] for path in GOLDEN_FILES}
    assert len(GOLDEN_FILES) >= 120
    assert {"en", "de", "fr", "es", "nl", "pt", "it", "sv", "pl", "ru"} <= languages


@pytest.mark.parametrize("path", GOLDEN_FILES, ids=[path.stem for path in GOLDEN_FILES])
def test_golden_reply(path):
    expected = path.with_suffix(".expected.txt").read_text(encoding="utf-8")
    assert trimmed(new_text(mail.parse(path.read_bytes()))) == trimmed(expected)


# --- quoted history -------------------------------------------------------------------------

QUOTE = "> Hi Ada,\n>\n> Would you be open to a call?\n"


@pytest.mark.parametrize(
    "attribution",
    [
        "On Mon, Jan 13, 2025 at 10:02 AM Sam Lee <sam@northwind-labs.com> wrote:",
        "Am Mo., 13. Jan. 2025 um 10:02 Uhr schrieb Sam Lee <sam@northwind-labs.com>:",
        "Le lun. 13 janv. 2025 à 10:02, Sam Lee <sam@northwind-labs.com> a écrit :",
        "El lun, 13 ene 2025 a las 10:02, Sam Lee (<sam@northwind-labs.com>) escribió:",
        "Op ma 13 jan 2025 om 10:02 schreef Sam Lee <sam@northwind-labs.com>:",
        "Em seg., 13 de jan. de 2025 às 10:02, Sam Lee <sam@northwind-labs.com> escreveu:",
        "Il giorno lun 13 gen 2025 alle ore 10:02 Sam Lee <sam@northwind-labs.com> ha scritto:",
        "Den mån 13 jan. 2025 kl 10:02 skrev Sam Lee <sam@northwind-labs.com>:",
        "pon., 13 sty 2025 o 10:02 Sam Lee <sam@northwind-labs.com> napisał(a):",
        "13.01.2025 10:02, Сэм Ли пишет:",
        "Wiadomość napisana przez Sam Lee <sam@x.com> w dniu 13.01.2025, o godz. 10:02:",
        "Op 13 jan. 2025 om 10:02 heeft Sam Lee <sam@x.com> het volgende geschreven:",
        "Am Montag, 13. Januar 2025 um 10:02:15 MEZ hat Sam Lee <sam@x.com> Folgendes geschrieben:",
    ],
)
def test_an_attribution_in_any_language_goes_with_the_quote(attribution):
    assert extract(f"Sounds good.\n\n{attribution}\n\n{QUOTE}") == "Sounds good."
    # Without quote marks (Yahoo, Outlook) everything below it is the earlier message.
    unquoted = QUOTE.replace("> ", "").replace(">", "")
    assert extract(f"Sounds good.\n\n{attribution}\n{unquoted}") == "Sounds good."


def test_an_attribution_wrapped_over_two_lines_goes_whole():
    text = (
        "Not now, thanks.\n\nOn Wed, Jan 15, 2025 at 2:11 PM Samuel Lee-Montgomery <\n"
        "samuel.lee-montgomery@northwind-labs.com> wrote:\n\n" + QUOTE
    )
    assert extract(text) == "Not now, thanks."
    wrapped_date = (
        "Ja.\n\nLena Fischer <lena@northwind-labs.com> schrieb am Mi., 22. Jan. 2025,\n13:25:\n\n"
    )
    assert extract(wrapped_date + QUOTE) == "Ja."


def test_a_verbless_attribution_goes_when_quoted_lines_follow_it():
    gmail_in_russian = "пн, 13 янв. 2025 г. в 10:02, Иван Петров <ivan@northwind-labs.com>:"
    assert extract(f"Да, давайте.\n\n{gmail_in_russian}\n\n{QUOTE}") == "Да, давайте."
    mutt = "* Sam Lee <sam@northwind-labs.com> [2025-01-13 10:02]:"
    assert extract(f"{mutt}\n{QUOTE}\nSure.") == "Sure."


@pytest.mark.parametrize(
    "header",
    [
        "From: Sam Lee <sam@x.com>\nSent: Monday, January 13, 2025 10:02 AM\nTo: Ada\nSubject: Hi",
        "Von: Sam Lee <sam@x.com>\nGesendet: Montag, 13. Januar 2025 10:02\nAn: Ada\nBetreff: Hi",
        "De : Sam Lee <sam@x.com>\nEnvoyé : lundi 13 janvier 2025 10:02\nÀ : Ada\nObjet : Hi",
        "De: Sam Lee\nEnviado: lunes, 13 de enero de 2025 10:02\nPara: Ada\nAsunto: Hi",
        "Van: Sam Lee\nVerzonden: maandag 13 januari 2025 10:02\nAan: Ada\nOnderwerp: Hi",
        "De: Sam Lee\nEnviada em: segunda-feira, 13 de janeiro 10:02\nPara: Ada\nAssunto: Hi",
        "Da: Sam Lee\nInviato: lunedì 13 gennaio 2025 10:02\nA: Ada\nOggetto: Hi",
        "Från: Sam Lee\nSkickat: den 13 januari 2025 10:02\nTill: Ada\nÄmne: Hi",
        "Od: Sam Lee\nWysłane: poniedziałek, 13 stycznia 2025 10:02\nDo: Ada\nTemat: Hi",
        "От: Sam Lee\nОтправлено: 13 января 2025 г. 10:02\nКому: Ada\nТема: Hi",
        "Gesendet: Montag, 13. Januar 2025 um 10:02 Uhr\nVon: Sam\nAn: ada@x.de\nBetreff: Hi",
        "*From:* Sam Lee\n*Sent:* Monday, January 13, 2025 10:02 AM\n*To:* Ada\n*Cc:* Tom, Ann,\n"
        "Bob\n*Subject:* Hi",
    ],
)
def test_a_header_block_in_any_language_starts_the_earlier_message(header):
    for rule in ("", "________________________________\n"):
        text = f"Tuesday works.\n\nAda\n\n{rule}{header}\n\nHi Ada,\nWould you be open to a call?"
        assert extract(text) == "Tuesday works.\n\nAda"


@pytest.mark.parametrize(
    "separator",
    [
        "-----Original Message-----",
        "-----Ursprüngliche Nachricht-----",
        "-----Message d'origine-----",
        "-----Mensaje original-----",
        "-----Oorspronkelijk bericht-----",
        "-----Mensagem original-----",
        "-----Messaggio originale-----",
        "-----Ursprungligt meddelande-----",
        "-----Oryginalna wiadomość-----",
        "-----Исходное сообщение-----",
        "----- Mail original -----",
        "-------- Original message --------",
        "---------- Forwarded message ---------",
        "---------- Weitergeleitete Nachricht ---------",
        "-------- Message transféré --------",
        "---------- Пересылаемое сообщение ---------",
        "Begin forwarded message:",
        "Anfang der weitergeleiteten Nachricht:",
        "Début du message réexpédié :",
        "Inicio del mensaje reenviado:",
    ],
)
def test_an_earlier_message_after_its_separator_goes(separator):
    text = f"See below, thoughts?\n\n{separator}\nSam wrote something long ago.\n\nSam"
    assert extract(text) == "See below, thoughts?"


def test_a_forward_without_a_note_has_no_new_text():
    text = "---------- Forwarded message ---------\nFrom: Sam <sam@x.com>\nDate: Mon\n\nHello"
    assert extract(text) == ""


def test_an_inline_reply_keeps_the_answers_one_blank_line_apart():
    text = (
        "Answers below.\n\nOn Mon, Jan 13, 2025 at 10:02 AM Sam <sam@x.com> wrote:\n"
        "> How big is your team?\nForty.\n> Which CRM?\n>\n> (and which version?)\n"
        "\n\nSalesforce.\n"
    )
    assert extract(text) == "Answers below.\n\nForty.\n\nSalesforce."


def test_a_bottom_posted_reply_keeps_what_is_below_the_quote():
    text = "On 13/01/2025 10:02, Sam Lee wrote:\n" + QUOTE + "\nYes, the 21st works.\n\nAda\n"
    assert extract(text) == "Yes, the 21st works.\n\nAda"


def test_a_quoted_line_wrapped_by_the_client_goes_with_its_quote():
    text = (
        "Covered, thanks.\n\nSam Lee wrote:\n> We help sales teams book 30% more meetings "
        "with our pipeline\nanalytics.\n> Open to a call?\n"
    )
    assert extract(text) == "Covered, thanks."


# --- what is not history --------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "On your point about pricing, my CFO wrote:\n\nWe can't commit before April.\n\nAda",
        "From my side it's a yes.\nDate: any day next week.\nTo: be confirmed.\n\nMarcus",
        "De: mi parte, sí.\n\nLucía",
        "Sure -- let's talk.\n\n- Tuesday 10-12\n- Wednesday after 3\n\nPick one.",
        "Call me tomorrow at 11. 415 555 0134",
        "Thanks,\nAda\n\nP.S. Loved your post, call me at +1 415 555 0134 or ada@acme.com.",
        "Hi Sam,\n\nAs I wrote on 3 Jan:\nwe're not interested.\n\nAda",
        "Sounds good.\n\nOn Monday at 10:30 my boss wrote:\n\nWe can't before April.",
        "Great.\n\nThanks!\nCan you send it to ada@acme.com?",
        "External email addresses are blocked here, use my private one.\n\nAda",
        "Hi,\n\nThis message is confidential to our team and not meant for forwarding.\n\n"
        "So let's talk in April.\n\nAda",
        "Va bene.\n\nInviato da Marco ieri il contratto firmato.",
        "Ok.\n\n--- see you then ---",
    ],
)
def test_the_senders_own_lines_that_look_like_history_stay(text):
    assert extract(text) == text


def test_the_senders_line_breaks_and_blank_lines_stay():
    text = "Hi Sam,\n\n\nLine one\n  indented line two\n\n- a\n- b\n\nAda"
    assert extract(text + "\n\n" + "On Mon, 13 Jan 2025, Sam <s@x.com> wrote:\n" + QUOTE) == text


# --- the end of the new text ----------------------------------------------------------------


@pytest.mark.parametrize(
    "footer",
    [
        "Sent from my iPhone",
        "Envoyé de mon iPhone",
        "Von meinem iPhone gesendet",
        "Enviado desde mi iPhone",
        "Verstuurd vanaf mijn iPhone",
        "Enviado do meu iPhone",
        "Inviato da iPhone",
        "Skickat från min iPhone",
        "Wysłane z iPhone'a",
        "Отправлено с iPhone",
        "Get Outlook for iOS<https://aka.ms/o0ukef>",
        "Get Outlook for Android",
        "Von meinem Samsung Galaxy Smartphone gesendet.",
        "Sent from Yahoo Mail on Android",
        "Sent with Proton Mail secure email.",
    ],
)
def test_a_mobile_footer_goes(footer):
    assert extract(f"Yes, Thursday.\n\n{footer}\n\n> quoted") == "Yes, Thursday."


def test_a_signature_after_its_dashes_goes():
    text = "Thanks!\n\nCheers,\nAda\n-- \nAda Lovelace\nVP Sales, Acme\n+1 415 555 0134"
    assert extract(text) == "Thanks!\n\nCheers,\nAda"
    assert extract("Not interested.\n--\nSent from Mail.ru for Android") == "Not interested."


@pytest.mark.parametrize(
    "disclaimer",
    [
        "CONFIDENTIALITY NOTICE: This e-mail message, including any attachments, is for the "
        "sole use of the intended recipient(s) and may contain confidential information.",
        "This email and any files transmitted with it are confidential and intended solely "
        "for the use of the individual to whom they are addressed.",
        "Diese E-Mail enthält vertrauliche und/oder rechtlich geschützte Informationen. Wenn "
        "Sie nicht der richtige Adressat sind, informieren Sie bitte sofort den Absender.",
        "Ce message et toutes les pièces jointes sont confidentiels et établis à l'intention "
        "exclusive de ses destinataires.",
        "AVISO DE CONFIDENCIALIDAD: Este mensaje y sus archivos adjuntos van dirigidos "
        "exclusivamente a su destinatario.",
        "Dit e-mailbericht is uitsluitend bestemd voor de geadresseerde(n).",
        "Questo messaggio e i suoi allegati sono indirizzati esclusivamente alle persone indicate.",
        "Это сообщение и любые приложения к нему являются конфиденциальными.",
    ],
)
def test_a_disclaimer_at_the_end_goes(disclaimer):
    assert extract(f"No thanks.\n\nRegards,\nAda\n\n{disclaimer}") == "No thanks.\n\nRegards,\nAda"
    # Alone, it is all there is: nothing is cut down to nothing.
    assert extract(disclaimer) == disclaimer


def test_a_contact_block_after_the_sign_off_goes_and_the_name_stays():
    text = (
        "Not the right person, try Maria.\n\nMit freundlichen Grüßen\n\nJonas Becker\n"
        "Leiter Vertrieb\n\nBecker Logistik GmbH\nHafenstraße 12, 20457 Hamburg\n"
        "Tel.: +49 40 123456-0\nwww.becker-logistik.de"
    )
    assert extract(text) == (
        "Not the right person, try Maria.\n\nMit freundlichen Grüßen\n\nJonas Becker"
    )
    assert extract("Sure.\n\nThanks, Ada\nCOO | Acme Corp\n+1 415 555 0134") == (
        "Sure.\n\nThanks, Ada"
    )
    logo_first = (
        "Oui.\n\nCordialement\n\n[cid:image001.png@01DB]\nCamille Martin\nTél : 01 23 45 67 89"
    )
    assert extract(logo_first) == "Oui.\n\nCordialement\n\nCamille Martin"


def test_a_contact_block_alone_goes_only_when_it_reads_as_one():
    block = "Ada Lovelace\nProcurement Lead\nAcme Corp\nPhone: +1 415 555 0134\nada@acme.com"
    assert extract(f"Try us in Q3.\n\n{block}") == "Try us in Q3."
    how_to_reach_me = "Call me: +1 415 555 0134\nor write to ada@acme.com\nafter 3pm"
    assert extract(f"Yes!\n\n{how_to_reach_me}") == f"Yes!\n\n{how_to_reach_me}"


def test_a_warning_our_mail_server_put_on_top_goes():
    banner = (
        "CAUTION: This email originated from outside of the organization. Do not click links "
        "or open attachments unless you recognize the sender."
    )
    assert extract(f"{banner}\n\nHappy to chat.") == "Happy to chat."
    tip = "You don't often get email from ada@acme.com. Learn why this is important<https://x>"
    assert extract(f"{tip}\n\nStop emailing me.") == "Stop emailing me."


# --- the message ----------------------------------------------------------------------------


def test_the_text_part_is_read_before_the_html_part():
    raw = (
        b"From: ada@acme.com\r\nSubject: Re\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/alternative; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nFrom the text part.\r\n"
        b"--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>From the HTML part.</p>\r\n"
        b"--b--\r\n"
    )
    assert new_text(mail.parse(raw)) == "From the text part."


def test_an_html_only_reply_is_cut_where_its_client_marked_the_history():
    # Czech labels are in no table: Outlook's own mark says where the history starts.
    html = (
        "<div>Dobrý den,</div><div><br></div><div>nemáme zájem.</div>"
        '<div id="appendonsend"></div><hr><div id="divRplyFwdMsg"><b>Od:</b> Sam<br>'
        "<b>Odesláno:</b> pondělí 13. ledna 2025<br><b>Komu:</b> Jan<br><b>Předmět:</b> Hi"
        "</div><div>Hi Jan, would you be open to a call?</div>"
    )
    assert new_text(message(html, content_type="text/html")) == "Dobrý den,\n\nnemáme zájem."
    gmail = (
        '<div dir="ltr">Bien sûr.</div><br><div class="gmail_quote"><div class="gmail_attr">'
        "Sam &lt;sam@x.com&gt;, 13 Oca 2025 Pzt, 10:02 tarihinde şunu yazdı:<br></div>"
        "<blockquote class=gmail_quote>Merhaba</blockquote></div>"
    )
    assert new_text(message(gmail, content_type="text/html")) == "Bien sûr."


@pytest.mark.parametrize(
    "raw",
    [
        b"From: a@b.c\r\nSubject: x\r\n\r\n",
        b"From: a@b.c\r\nContent-Type: multipart/mixed; boundary=z\r\n\r\n--z\r\n"
        b"Content-Type: application/pdf\r\n\r\n%PDF\r\n--z--\r\n",
        b"From: a@b.c\r\nContent-Type: text/html\r\n\r\n<div class=gmail_attr><blockquote><div",
        b"From: a@b.c\r\n\r\n> only\n> quoted\n",
        b"From: a@b.c\r\n\r\n" + b"> " * 5000 + b"\n" + b"On x wrote:\n" * 2000,
    ],
)
def test_odd_bodies_give_a_text_and_never_raise(raw):
    assert isinstance(new_text(mail.parse(raw)), str)


def test_a_huge_body_is_read_only_as_far_as_a_reply_can_go():
    text = "Yes.\n" + "x" * 300 + "\n" + "more text\n" * 100_000
    assert len(extract(text)) <= 200_000
    assert extract(text).startswith("Yes.\n")
