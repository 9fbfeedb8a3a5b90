"""What the sender of a reply newly wrote: the body without quoted history, forwarded or
embedded earlier messages, signatures, mobile footers or legal disclaimers.

`new_text(message)` is the interface the classifier and the unified inbox call; `extract(text)`
does the same on a body already turned into text. Nothing here touches the database or the
network, and nothing raises on what real mail holds.

How a body is read:

1. The body is the message's text part (format=flowed already joined back, see
   `unibox.mail.part_text`), else its HTML part as text, with the quoted history that the
   client marked in its HTML (Gmail's attribution, Outlook's reply header, Yahoo's, Zimbra's,
   Thunderbird's, Samsung's…) marked for step 3: the markup says where a quote starts more
   reliably than any guess on the text. Only the start of a huge body is read
   (MAX_TEXT_CHARS, MAX_HTML_CHARS).
2. A warning that our own mail server put on top ("CAUTION: This email originated from
   outside of the organization", "You don't often get email from …") goes.
3. The body is cut where an earlier message starts and everything below belongs to it: a
   forwarded or original message's separator ("---------- Forwarded message ---------",
   "-----Original Message-----", "Begin forwarded message:" and their translations), a
   header block ("From: … Sent: … To: … Subject:", in any supported language, with or
   without Outlook's underscore rule above it), or an attribution line ("On … wrote:",
   "Am … schrieb …:", wrapped over up to three lines) that no quoted (">") line follows.
4. Quoted lines go, with the attribution line that introduces them. Lines the sender wrote
   between quotes (an inline reply) stay, in order, one blank line apart where a quote was:
   the new text of an inline reply is the answers, not the questions.
5. Then, from the end and again until nothing changes: a mobile footer ("Sent from my
   iPhone", "Von meinem iPhone gesendet", "Get Outlook for iOS"…), a signature after a
   "-- " line, a legal disclaimer, a contact block (title, company, phone, address, links)
   after the sign-off and the name, or a contact block alone as the last paragraph. No rule
   ever cuts the text down to nothing.

The words each rule looks for are the per-language tables below, compiled once.
"""

import re
from collections.abc import Iterable
from email.message import Message

from unibox.mail import QUOTE_HEADER, QUOTED_HISTORY, body_parts, html_to_text

# --- the tables, per language ---------------------------------------------------------------
# Plain words (escaped when compiled) unless a table says it holds patterns.
# fmt: off

# The verb that ends an attribution line: "On Mon, 13 Jan 2025, Sam <sam@x> wrote:".
WROTE = {
    "en": ["wrote", "writes"],
    "de": ["schrieb", "geschrieben", "schreibt"],
    "fr": ["a écrit", "écrit"],
    "es": ["escribió", "escribe"],
    "nl": ["schreef", "geschreven"],
    "pt": ["escreveu", "escreve"],
    "it": ["ha scritto", "scrive"],
    "sv": ["skrev", "skriver"],
    "pl": ["napisał(a)", "napisał", "napisała", "napisana", "pisze"],
    "ru": ["написал(а)", "написал", "написала", "пишет"],
}

# How an attribution wrapped over several lines may begin (its first line alone says nothing).
ATTRIBUTION_OPENERS = {
    "en": ["On", "At"],
    "de": ["Am"],
    "fr": ["Le"],
    "es": ["El"],
    "nl": ["Op"],
    "pt": ["Em", "No dia"],
    "it": ["Il", "Il giorno"],
    "sv": ["Den"],
    "pl": ["W dniu", "Dnia", "Wiadomość napisana przez"],
    "ru": [],
}

# "---------- Forwarded message ---------", "-----Original Message-----", between rules.
SEPARATED = {
    "en": ["Original Message", "Forwarded message", "Forwarded by", "Message forwarded"],
    "de": ["Ursprüngliche Nachricht", "Ursprüngliche Mail", "Originalnachricht",
           "Weitergeleitete Nachricht", "Weitergeleitete Mail"],
    "fr": ["Message d'origine", "Message d’origine", "Mail original", "Message original",
           "Message transféré", "Courriel transféré"],
    "es": ["Mensaje original", "Correo original", "Mensaje reenviado"],
    "nl": ["Oorspronkelijk bericht", "Origineel bericht", "Doorgestuurd bericht"],
    "pt": ["Mensagem original", "Mensagem encaminhada", "Mensagem reencaminhada"],
    "it": ["Messaggio originale", "Messaggio inoltrato"],
    "sv": ["Ursprungligt meddelande", "Originalmeddelande", "Vidarebefordrat meddelande"],
    "pl": ["Oryginalna wiadomość", "Wiadomość oryginalna", "Przekazana wiadomość",
           "Wiadomość przekazana dalej"],
    "ru": ["Исходное сообщение", "Оригинальное сообщение", "Пересылаемое сообщение",
           "Пересланное сообщение", "Перенаправленное сообщение"],
}

# A line of its own, ending with a colon: Apple Mail's "Begin forwarded message:".
FORWARD_INTROS = {
    "en": ["Begin forwarded message"],
    "de": ["Anfang der weitergeleiteten Nachricht", "Anfang der weitergeleiteten E-Mail"],
    "fr": ["Début du message réexpédié", "Début du message transféré"],
    "es": ["Inicio del mensaje reenviado", "Comienzo del mensaje reenviado"],
    "nl": ["Begin doorgestuurd bericht", "Begin van doorgestuurd bericht"],
    "pt": ["Início da mensagem reencaminhada", "Início da mensagem encaminhada"],
    "it": ["Inizio messaggio inoltrato", "Inizio del messaggio inoltrato"],
    "sv": ["Vidarebefordrat brev", "Början på vidarebefordrat brev"],
    "pl": ["Początek przekazywanej wiadomości", "Początek wiadomości przekazanej dalej"],
    "ru": ["Начало переадресованного сообщения", "Начало пересылаемого сообщения"],
}

# The labels of a quoted message's header block, by what they name. Gmail mixes languages
# ("Von: … Date: … Subject:"), so a block may take its labels from several rows.
HEADER_LABELS = {
    "from": ["From", "Von", "De", "Van", "Da", "Mittente", "Från", "Od", "Nadawca", "От"],
    "date": ["Sent", "Date", "Gesendet", "Datum", "Envoyé", "Enviado", "Enviado el",
             "Enviada em", "Enviado em", "Fecha", "Verzonden", "Inviato", "Data", "Skickat",
             "Wysłane", "Wysłano", "Отправлено", "Дата"],
    "to": ["To", "An", "À", "A", "Pour", "Para", "Aan", "Till", "Do", "Adresat", "Кому"],
    "cc": ["Cc", "Bcc", "Kopie", "Copie à", "Kopia", "DW", "Копия"],
    "subject": ["Subject", "Betreff", "Objet", "Sujet", "Asunto", "Onderwerp", "Assunto",
                "Oggetto", "Ämne", "Temat", "Тема"],
    "other": ["Reply-To", "Importance", "Priority", "Wichtigkeit", "Priorität",
              "Organization", "Organisation", "Attachments", "Anlagen", "Pièces jointes"],
}

# Footers a mobile app or mail service adds (patterns: one whole line each, a link after it
# allowed). After "my" anything goes ("Sent from my Fairphone"); otherwise "{device}" must
# name a device or a mail app within a few words ("Inviato da Marco" is not a footer).
FOOTERS = {
    "en": [r"Sent from my \S.{0,40}", r"Sent (?:from|via|with|using) .{0,30}{device}.{0,40}",
           r"Get Outlook for (?:iOS|Android|Mac)"],
    "de": [r"Von meinem \S.{0,40} gesendet\.?",
           r"Gesendet (?:von|mit|über|aus) .{0,30}{device}.{0,40}",
           r"Outlook für (?:iOS|Android) (?:beziehen|herunterladen)"],
    "fr": [r"Envoyé (?:de|depuis|avec|à partir de) mon \S.{0,40}",
           r"Envoyé (?:de|depuis|avec|à partir de|par) .{0,30}{device}.{0,40}",
           r"(?:Obtenir|Télécharger) Outlook pour (?:iOS|Android)"],
    "es": [r"Enviado desde mi \S.{0,40}", r"Enviado (?:desde|con|mediante) .{0,30}{device}.{0,40}",
           r"(?:Obtener|Descargar|Obtén) Outlook para (?:iOS|Android)"],
    "nl": [r"(?:Verstuurd|Verzonden) (?:vanaf|met|via|vanuit) mijn \S.{0,40}",
           r"(?:Verstuurd|Verzonden) (?:vanaf|met|via|vanuit) .{0,30}{device}.{0,40}",
           r"(?:Outlook voor (?:iOS|Android) downloaden|Download Outlook voor (?:iOS|Android))"],
    "pt": [r"Enviad[oa] (?:do|de) (?:meu|minha) \S.{0,40}",
           r"Enviad[oa] (?:do|de|pelo|a partir do|via) .{0,30}{device}.{0,40}",
           r"(?:Obter o|Obtenha o|Baixe o) Outlook para (?:iOS|Android)"],
    "it": [r"Inviato dal mio \S.{0,40}", r"Inviato (?:da|dal|con|tramite) .{0,30}{device}.{0,40}",
           r"(?:Scarica|Ottieni) Outlook per (?:iOS|Android)"],
    "sv": [r"Skickat från (?:min|mitt) \S.{0,40}",
           r"Skickat (?:från|med|via) .{0,30}{device}.{0,40}",
           r"(?:Hämta|Skaffa) Outlook för (?:iOS|Android)"],
    "pl": [r"Wysłan[eo] (?:z|ze) (?:mojego|mojej) \S.{0,40}",
           r"Wysłan[eo] (?:z|ze|przy użyciu|za pomocą) .{0,30}{device}.{0,40}",
           r"Pobierz (?:aplikację )?Outlook dla (?:systemu )?(?:iOS|Android)"],
    "ru": [r"Отправлено (?:с|из|со) (?:моего|моей) \S.{0,40}",
           r"Отправлено (?:с|из|со|через) .{0,30}{device}.{0,50}",
           r"(?:Получить|Скачайте|Скачать) Outlook для (?:iOS|Android)"],
}
FOOTER_DEVICES = [
    "iPhone", "iPad", "iPod", "Apple", "Android", "Galaxy", "Samsung", "Huawei", "Xiaomi",
    "Pixel", "BlackBerry", "Nokia", "smartphone", "smartfon", "mobile", "móvil", "movil",
    "celular", "cellulare", "telefon", "phone", "Handy", "Outlook", "Yahoo", "Gmail", "Mail",
    "Posta", "Libero", "GMX", "WEB.DE", "T-Online", "Proton", "Superhuman", "Spark", "AOL",
    "iOS", "Windows", "iCloud", "Почт", "Mail.ru", "Яндекс", "мобильн", "телефон", "смартфон",
]

# How a legal disclaimer begins (patterns), at the start of a paragraph near the end.
DISCLAIMERS = {
    "en": [r"CONFIDENTIALITY( NOTICE)?\b", r"CONFIDENTIAL\b", r"DISCLAIMER\b", r"IMPORTANT NOTICE",
           r"Confidentiality (Notice|Note|Statement)", r"Disclaimer:",
           r"This (e-?mail|message|communication|transmission)\b.{0,80}\b(confidential|privileged|"
           r"intended (only|solely|exclusively))",
           r"The (information|content|contents)\b.{0,60}\b(this|the) (e-?mail|message)",
           r"If you (are not|have received this).{0,60}\b(intended recipient|in error)",
           r"Please consider the environment before printing"],
    "de": [r"Diese (E-Mail|Nachricht|E-Mail-Nachricht)\b.{0,80}\b(vertraulich|ausschließlich|"
           r"rechtlich geschützt)", r"Der Inhalt dieser (E-Mail|Nachricht)\b.{0,60}vertraulich",
           r"(Wichtiger )?Hinweis:.{0,40}(vertraulich|Empfänger)", r"Vertraulichkeitshinweis",
           r"Bitte denken Sie an die Umwelt", r"Informationen zum Datenschutz"],
    "fr": [r"Ce (message|courriel|e-?mail|mail)\b.{0,80}\b(confidentiel|destinataire|"
           r"exclusive)", r"Les informations contenues dans ce (message|courriel)",
           r"AVERTISSEMENT", r"Avis de confidentialité", r"Pensez à l.environnement"],
    "es": [r"AVISO (DE CONFIDENCIALIDAD|LEGAL)", r"Este (mensaje|correo)\b.{0,80}\b(confidencial|"
           r"dirigido|destinatario)", r"La información contenida en este", r"Antes de imprimir"],
    "nl": [r"Dit (e-?mail)?bericht\b.{0,80}\b(uitsluitend|vertrouwelijk|bestemd)",
           r"De informatie (verzonden|opgenomen) in dit", r"Aan dit bericht kunnen geen rechten"],
    "pt": [r"Esta mensagem\b.{0,80}\b(confidencia|destinad|exclusiv)",
           r"AVISO DE CONFIDENCIALIDADE",
           r"As informações contidas nesta", r"Antes de imprimir"],
    "it": [r"Questo messaggio\b.{0,80}\b(riservat|confidenzial|destinat|indirizzat)",
           r"Le informazioni contenute (in|nella) (questo|questa)", r"AVVISO DI RISERVATEZZA",
           r"Ai sensi del", r"Prima di stampare"],
    "sv": [r"Detta (e-post)?meddelande\b.{0,80}\b(konfidentiell|avsett)",
           r"Innehållet i detta (e-post)?meddelande", r"Tänk på miljön"],
    "pl": [r"Ta wiadomość\b.{0,80}\b(poufn|przeznaczon)", r"Treść tej wiadomości\b.{0,60}pouf",
           r"Informacje zawarte w tej wiadomości", r"Zanim wydrukujesz"],
    "ru": [r"(Это|Данное|Настоящее) (сообщение|письмо)\b.{0,80}\b(конфиденциальн|предназначен)",
           r"Информация, содержащаяся в (этом|данном)", r"КОНФИДЕНЦИАЛЬН"],
}

# Sign-offs: a line of its own (a name may follow it on the same line after a comma).
SIGN_OFFS = {
    "en": ["Best", "Best regards", "Best wishes", "Kind regards", "Regards", "Warm regards",
           "Warmly", "Cheers", "Thanks", "Thank you", "Many thanks", "Thanks again",
           "Thanks so much", "All the best", "Sincerely", "Yours sincerely", "Yours truly",
           "Talk soon", "Take care"],
    "de": ["Mit freundlichen Grüßen", "Mit freundlichen Grüssen", "Freundliche Grüße",
           "Freundliche Grüsse", "Viele Grüße", "Viele Grüsse", "Beste Grüße", "Beste Grüsse",
           "Liebe Grüße", "Herzliche Grüße", "Schöne Grüße", "Grüße", "Grüsse", "Gruß", "Gruss",
           "MfG", "VG", "LG", "Danke", "Vielen Dank", "Besten Dank"],
    "fr": ["Cordialement", "Bien cordialement", "Très cordialement", "Bien à vous",
           "Salutations", "Sincères salutations", "Meilleures salutations", "Bonne journée",
           "Belle journée", "Merci", "Merci beaucoup", "Amicalement", "À bientôt",
           "Bonne fin de journée"],
    "es": ["Saludos", "Un saludo", "Saludos cordiales", "Un cordial saludo", "Atentamente",
           "Cordialmente", "Gracias", "Muchas gracias", "Un abrazo", "Abrazos"],
    "nl": ["Met vriendelijke groet", "Met vriendelijke groeten", "Vriendelijke groet",
           "Hartelijke groet", "Groet", "Groeten", "Groetjes", "Mvg", "Bedankt", "Alvast bedankt"],
    "pt": ["Atenciosamente", "Cumprimentos", "Melhores cumprimentos", "Abraço", "Abraços",
           "Um abraço", "Obrigado", "Obrigada", "Att", "Saudações"],
    "it": ["Cordiali saluti", "Distinti saluti", "Saluti", "Un saluto", "Un caro saluto",
           "Grazie", "Grazie mille", "Buona giornata", "A presto"],
    "sv": ["Med vänliga hälsningar", "Vänliga hälsningar", "Bästa hälsningar", "Hälsningar",
           "Mvh", "Vh", "Tack", "Tack på förhand", "Trevlig dag"],
    "pl": ["Pozdrawiam", "Pozdrawiam serdecznie", "Serdecznie pozdrawiam", "Z poważaniem",
           "Z pozdrowieniami", "Pozdrowienia", "Dziękuję", "Dzięki"],
    "ru": ["С уважением", "Спасибо", "Всего доброго", "Всего хорошего",
           "С наилучшими пожеланиями", "Хорошего дня", "Благодарю"],
}

# Warnings a receiving mail server puts on top of the body (the start of the first line).
BANNERS = {
    "en": ["CAUTION: This email originated from outside", "ATTENTION: This email originated "
           "from outside", "EXTERNAL EMAIL", "[EXTERNAL]", "External email:",
           "You don't often get email from", "You don’t often get email from",
           "Some people who received this message don't often get email from"],
    "de": ["WARNUNG: Diese E-Mail stammt von außerhalb", "ACHTUNG: Diese E-Mail stammt von",
           "Sie erhalten nicht oft eine E-Mail von", "Sie erhalten nicht häufig E-Mails von"],
    "fr": ["Vous ne recevez pas souvent de courriers de", "ATTENTION : Ce courriel provient"],
    "es": ["No suele recibir correo electrónico de", "PRECAUCIÓN: Este correo se originó"],
    "nl": ["U ontvangt niet vaak e-mail van", "LET OP: Deze e-mail is afkomstig van buiten"],
    "pt": ["Você não recebe emails com frequência de", "Não recebe e-mails com frequência de"],
    "it": ["Non ricevi spesso messaggi di posta elettronica da", "ATTENZIONE: Questa email "
           "proviene dall'esterno"],
    "sv": ["Du får inte ofta e-post från", "VARNING: Detta e-postmeddelande kommer från"],
    "pl": ["Nie otrzymujesz często wiadomości e-mail od", "UWAGA: Ta wiadomość pochodzi spoza"],
    "ru": ["Вы нечасто получаете письма от", "ВНИМАНИЕ: Это письмо отправлено извне"],
}

# Words that make a line of a signature's contact block (beyond phone numbers, addresses and
# links, which are found by their shape).
CONTACT_WORDS = [
    "Tel", "Tél", "Phone", "Mobile", "Mob", "Cell", "Fax", "Direct", "Office", "Handy",
    "Telefon", "Móvil", "Celular", "Cellulare", "Telefone", "Telefoon", "Mobiel", "Тел",
    "Телефон", "Моб", "GmbH", "HRB", "HRA", "Amtsgericht", "Registergericht",
    "Geschäftsführer", "Geschäftsführung", "USt-IdNr", "Ltd", "LLC", "Inc", "Corp", "S.p.A.",
    "S.r.l.", "Sp. z o.o.", "B.V.", "AB", "S.A.", "S.L.", "SAS", "SARL", "ООО", "АО", "KRS",
    "NIP", "REGON", "P.IVA", "CIF", "SIRET", "KvK",
]

# fmt: on

# --- compiled once --------------------------------------------------------------------------


def _words(table: dict[str, list[str]]) -> str:
    return "|".join(
        re.escape(word)
        for word in sorted({w for words in table.values() for w in words}, key=len, reverse=True)
    )


def _patterns(table: dict[str, list[str]], **fills: str) -> str:
    return "|".join(
        f"(?:{pattern.replace('{device}', fills.get('device', ''))})"
        for patterns in table.values()
        for pattern in patterns
    )


_SPACE = r"[ \t\u00a0\u202f]"
_QUOTED = re.compile(r"^[ \t]*>")
# An attribution ends with its verb, then at most a name and an address, then a colon.
_VERB = re.compile(rf"(?<!\w)(?:{_words(WROTE)})(?!\w)", re.I)
_WROTE = re.compile(rf"{_VERB.pattern}(?:[^:\n]|(?<=\d):(?=\d)){{0,160}}[:：]{_SPACE}*$", re.I)
_OPENER = re.compile(
    rf"^[ \t]*(?:(?:{_words(ATTRIBUTION_OPENERS)})(?!\w)|\d|\w{{2,4}}\.?,{_SPACE})|<$", re.I
)
# Matches start only where a word starts: no quadratic backtracking through long words.
_ADDRESS = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_TIME = re.compile(r"(?<!\d)\d{1,2}[:.h]\d{2}(?!\d)")
_DATE = re.compile(r"(?<!\d)(?:19|20)\d\d(?!\d)|(?<!\d)\d{1,2}[./-]\d{1,2}[./-]\d{2,4}(?!\d)")
_SEPARATOR = re.compile(
    rf"^[ \t*]*[-_=]{{2,}}{_SPACE}*(?:{_words(SEPARATED)}){_SPACE}*:?{_SPACE}*[-_=]{{2,}}[ \t*]*$",
    re.I,
)
_FORWARD_INTRO = re.compile(rf"^[ \t*]*(?:{_words(FORWARD_INTROS)}){_SPACE}*:[ \t]*$", re.I)
_LABEL_KIND = {label.casefold(): kind for kind, labels in HEADER_LABELS.items() for label in labels}
_HEADER_LINE = re.compile(rf"^[ \t*]*({_words(HEADER_LABELS)})\*?{_SPACE}*:", re.I)
_RULE = re.compile(r"^[ \t]*[-_=*]{3,}[ \t]*$")
_DEVICE = f"(?:{_words({'': FOOTER_DEVICES})})"
_FOOTER = re.compile(
    rf"^[ \t]*(?:{_patterns(FOOTERS, device=_DEVICE)})[ \t]*(?:<[^>\s]*>|\(?https?://\S*\)?)?\s*$",
    re.I,
)
_DISCLAIMER = re.compile(rf"^[ \t*]*(?:{_patterns(DISCLAIMERS)})", re.I)
_SIGN_OFF = re.compile(  # "Best regards," alone, or with the name after it: "Best, Ada"
    rf"^[ \t]*(?:{_words(SIGN_OFFS)})[ \t]*"
    rf"(?:[,.!:;]+[ \t]*(?P<name>[^\W\d_][\w.'’ -]{{0,40}})?)?[ \t]*$",
    re.I,
)
_BANNER = re.compile(rf"^[ \t*]*(?:{_words(BANNERS)})")
_PHONE = re.compile(r"(?<![\w+])\+?\(?\d[\d ().\-/]{6,}\d(?!\w)")
_WEB = re.compile(
    r"https?://|\bwww\.|(?<![\w-])[\w-]+\.(?:com|net|org|io|co|de|fr|es|nl|it|pt|br|se|pl|ru|uk|eu)\b"
)
_CONTACT_WORD = re.compile(rf"(?<!\w)(?:{'|'.join(map(re.escape, CONTACT_WORDS))})(?!\w)|[|·•]")
_POSTSCRIPT = re.compile(r"^[ \t]*P\.? ?P?\.? ?S\b|^[ \t]*PD\b", re.I)
_SIGNATURE_DASHES = re.compile(r"^--[ \t]*$")
_PLACEHOLDER = re.compile(r"^[ \t]*\[[^\]]*\][ \t]*$")  # a logo in text: "[cid:image001.png@…]"
_NAME = re.compile(r"^[^\W\d_][^\W\d_.'’-]*(?:[ .'’-]+[^\W\d_][^\W\d_'’-]*){0,3}\.?$")

# How much of a body is read: what a person newly writes comes first and is never this long;
# the rest of a huge body (a long thread, images inlined as data) would only cost time.
MAX_TEXT_CHARS = 200_000
MAX_HTML_CHARS = 1_000_000

# The most lines an attribution may wrap over, a signature may hold, a trailing block may be.
_ATTRIBUTION_LINES = 3
_SIGNATURE_LINES = 25
_CONTACT_LINES = 15
_LINE_CHARS = 100

_GAP = None  # where quoted lines were taken out


# --- the rules ------------------------------------------------------------------------------


def _is_quoted(line: str) -> bool:
    return _QUOTED.match(line) is not None


def _is_blank(line: str | None) -> bool:
    return line is None or not line.strip()


def _attribution(text: str, *, strict: bool) -> bool:
    """Whether `text` (one line, or a wrapped one joined) introduces a quoted message.

    Strict: it names the verb ("wrote", "schrieb", …) and an address or a date and a time,
    enough to cut everything below even with no quote mark ("As I wrote on Monday:" is not).
    Loose, for a line right above quoted lines: the verb alone ("Sam wrote:"), or a line
    ending in a colon with an address or a date and a time (Gmail in Russian says
    "пн, 13 янв. 2025 г. в 10:02, Иван <ivan@x.ru>:", mutt "* Sam <sam@x> [2025-01-13]:").
    """
    text = text.strip().strip("-_ \t").strip()
    if text == QUOTE_HEADER:
        return True
    if len(text) > 320 or not text.endswith((":", "：")):
        return False
    if _WROTE.search(text):
        return not strict or _dated(text)
    return not strict and _dated(text)


def _dated(text: str) -> bool:
    return bool(_ADDRESS.search(text) or (_TIME.search(text) and _DATE.search(text)))


def _attribution_span(lines: list[str], end: int, *, strict: bool) -> int | None:
    """The first line of an attribution that ends at line `end`, or None.

    Gmail wraps a long one in its text part ("On Mon, … Sam Lee <\\nsam@x.com> wrote:");
    the lines above `end` join it while the joined text still reads as one and its first
    line opens like an attribution.
    """
    line = lines[end]
    if _is_blank(line) or _is_quoted(line):
        return None
    if line.strip() == QUOTE_HEADER:
        return end
    if not line.strip().strip("-_ \t").endswith((":", "：")):  # Notes: "-----X wrote: -----"
        return None
    start, found = end, None
    joined = line.strip()
    if _attribution(joined, strict=strict):
        found = end
        if _OPENER.search(joined):  # it starts like one: nothing above belongs to it
            return end
    for above in range(end - 1, max(end - _ATTRIBUTION_LINES, -1), -1):
        previous = lines[above]
        if (
            _is_blank(previous)
            or _is_quoted(previous)
            or previous.rstrip().endswith((".", "!", "?"))
        ):
            break
        joined = previous.strip() + " " + joined
        opens = _OPENER.search(previous) or _ADDRESS.search(previous) or _VERB.search(previous)
        if opens and _attribution(joined, strict=strict):
            start, found = above, above
    return found if found is None else start


def _header_kinds(lines: list[str]) -> list[str | None]:
    kinds: list[str | None] = []
    for line in lines:
        match = _HEADER_LINE.match(line)
        kinds.append(_LABEL_KIND.get(match.group(1).casefold()) if match else None)
    return kinds


def _header_block_at(lines: list[str], kinds: list[str | None], start: int) -> bool:
    """Whether a quoted message's header block ("From: … Sent: … To: … Subject: …") starts
    at `start`: consecutive header lines (a wrapped one may continue on the next line) that
    name the sender and at least two more of date, recipients, copies and subject."""
    if kinds[start] is None:
        return False
    seen: set[str] = set()
    loose = 0
    for index in range(start, min(len(lines), start + 12)):
        kind = kinds[index]
        if kind is None:
            if _is_blank(lines[index]) or loose:
                break
            loose += 1
            continue
        loose = 0
        seen.add(kind)
    seen.discard("other")
    return "from" in seen and len(seen) >= 3


def _next_content(lines: list[str], index: int) -> int | None:
    for following in range(index, len(lines)):
        if not _is_blank(lines[following]):
            return following
    return None


def _history_start(lines: list[str]) -> int | None:
    """Where the earlier message starts, when everything from there on belongs to it (step 3)."""
    kinds = _header_kinds(lines)
    for index, line in enumerate(lines):
        if _is_blank(line) or _is_quoted(line):
            continue
        stripped = line.strip()
        if stripped == QUOTED_HISTORY or _SEPARATOR.match(line) or _FORWARD_INTRO.match(line):
            return index
        if _header_block_at(lines, kinds, index):
            return index
        start = _attribution_span(lines, index, strict=True)
        if start is not None:
            following = _next_content(lines, index + 1)
            if following is None or not _is_quoted(lines[following]):
                return start
    return None


def _drop_quotes(lines: list[str]) -> list[str | None]:
    """Quoted lines out, with the attribution above them; a gap marks where (step 4)."""
    kept: list[str | None] = []
    index = 0
    while index < len(lines):
        if not _is_quoted(lines[index]):
            kept.append(lines[index])
            index += 1
            continue
        end = index
        while end < len(lines):
            line = lines[end]
            if _is_quoted(line):
                end += 1
            elif _is_blank(line):
                following = _next_content(lines, end)
                if following is None or not _is_quoted(lines[following]):
                    break
                end = following
            elif _wrapped_quote(lines, end):
                end += 1
            else:
                break
        _drop_attribution_above(kept)
        kept.append(_GAP)
        index = end
    return kept


def _wrapped_quote(lines: list[str], index: int) -> bool:
    """A client that wraps quoted lines after quoting them leaves the rest of a long line
    unquoted between two quoted ones ("> … we help sales\\nteams book …\\n> …")."""
    line = lines[index].lstrip()
    return (
        0 < index < len(lines) - 1
        and _is_quoted(lines[index - 1])
        and _is_quoted(lines[index + 1])
        and len(lines[index - 1]) >= 60
        and line[:1].islower()
    )


def _drop_attribution_above(kept: list[str | None]) -> None:
    last = len(kept) - 1
    while last >= 0 and _is_blank(kept[last]):
        last -= 1
    if last < 0:
        return
    text_lines = [line if line is not None else "" for line in kept[: last + 1]]
    start = _attribution_span(text_lines, last, strict=False)
    if start is not None:
        del kept[start:]


def _render(lines: Iterable[str | None]) -> list[str]:
    """Lines with the gaps closed: a gap and the blank lines around it become one blank line."""
    out: list[str] = []
    blanks: list[str] = []
    gap = False
    for line in lines:
        if line is None:
            gap = True
        elif not line.strip():
            blanks.append("")
        else:
            if out:
                out.extend([""] if gap else blanks)
            out.append(line)
            blanks, gap = [], False
    return out


def _paragraph_starts(lines: list[str]) -> list[int]:
    return [
        i for i, line in enumerate(lines) if line.strip() and (i == 0 or not lines[i - 1].strip())
    ]


def _without_banner(lines: list[str]) -> list[str]:
    first = _next_content(lines, 0)
    if first is None or not _BANNER.match(lines[first]):
        return lines
    end = first
    while end < len(lines) and lines[end].strip():
        end += 1
    return lines[end:]


def _is_contact(line: str) -> bool:
    return bool(
        _PHONE.search(line)
        or _ADDRESS.search(line)
        or _WEB.search(line)
        or _CONTACT_WORD.search(line)
    )


def _is_signature_like(line: str) -> bool:
    """Short, and not a question nor a sentence of five words or more."""
    text = line.strip()
    return (
        len(text) <= _LINE_CHARS
        and not text.endswith("?")
        and not (len(text.split()) >= 5 and text.endswith((".", "!")))
    )


def _cut_signature(lines: list[str]) -> list[str] | None:
    for index, line in enumerate(lines):
        if _SIGNATURE_DASHES.match(line) and any(above.strip() for above in lines[:index]):
            if sum(1 for below in lines[index + 1 :] if below.strip()) <= _SIGNATURE_LINES:
                return lines[:index]
            return None
    return None


def _cut_disclaimer(lines: list[str]) -> list[str] | None:
    """From the first paragraph that opens like a disclaimer, when every paragraph from there
    to the end is one too (in another language, say) or long legal prose."""
    starts = _paragraph_starts(lines)
    for position, start in enumerate(starts[1:], 1):
        first = lines[start].strip()
        if not _DISCLAIMER.match(first):
            continue
        if not (len(first) >= 60 or first.isupper() or first.endswith(":")):
            continue
        following = [_paragraph(lines, later) for later in starts[position + 1 :]]
        if all(_DISCLAIMER.match(text) or len(text) >= 120 for text in following):
            return lines[:start]
    return None


def _paragraph(lines: list[str], start: int) -> str:
    end = start
    while end < len(lines) and lines[end].strip():
        end += 1
    return " ".join(line.strip() for line in lines[start:end])


def _cut_contact_block(lines: list[str]) -> list[str] | None:
    """A contact block after the sign-off and the name, or alone as the last paragraph."""
    content = [i for i, line in enumerate(lines) if line.strip()]
    for position in range(len(content) - 1, -1, -1):
        index = content[position]
        if len(content) - position > _CONTACT_LINES + 2:
            break
        match = _SIGN_OFF.match(lines[index])
        if match is None or position == 0:
            continue
        keep = index
        names = [i for i in content[position + 1 :] if not _PLACEHOLDER.match(lines[i])][:1]
        if not match.group("name") and names and _NAME.match(lines[names[0]].strip()):
            keep = names[0]
        rest = [line for line in lines[keep + 1 :] if line.strip()]
        if (
            rest
            and not any(_POSTSCRIPT.match(line) for line in rest)
            and all(_is_signature_like(line) for line in rest)
            and any(_is_contact(line) for line in rest)
        ):
            # the name stays, a logo between it and the sign-off does not
            between = [line for line in lines[index + 1 : keep] if not _PLACEHOLDER.match(line)]
            return (
                [*lines[: index + 1], *between, lines[keep]] if keep > index else lines[: index + 1]
            )
        return None
    # No sign-off: only a last paragraph that opens with a name, then three lines or more of
    # title, company, address, phone, links, at least one of them a number or an address.
    starts = _paragraph_starts(lines)
    if len(starts) < 2:
        return None
    block = [line.strip() for line in lines[starts[-1] :] if line.strip()]
    if not 3 <= len(block) <= 10 or not _NAME.match(block[0]):
        return None
    contacts = [line for line in block if _is_contact(line)]
    reachable = any(_PHONE.search(line) or _ADDRESS.search(line) for line in contacts)
    if len(contacts) >= 2 and reachable and all(_is_signature_like(line) for line in block):
        return lines[: starts[-1]]
    return None


def _trim_end(lines: list[str]) -> list[str]:
    """Footers, signatures, disclaimers and contact blocks off the end (step 5)."""
    while True:
        while lines and not lines[-1].strip():
            lines = lines[:-1]
        if len(lines) > 1 and (_RULE.match(lines[-1]) or _FOOTER.match(lines[-1])):
            lines = lines[:-1]
            continue
        for rule in (_cut_signature, _cut_disclaimer, _cut_contact_block):
            shorter = rule(lines)
            if shorter is not None and any(line.strip() for line in shorter):
                lines = shorter
                break
        else:
            return lines


def _lines(text: str) -> list[str]:
    text = text[:MAX_TEXT_CHARS]
    text = (
        text.replace("\r\n", "\n").replace("\r", "\n").replace("\u200b", "").replace("\ufeff", "")
    )
    return [line.rstrip() for line in text.split("\n")]


def extract(text: str) -> str:
    """The newly written part of a body given as text."""
    lines = _without_banner(_lines(text))
    cut = _history_start(lines)
    if cut is not None:
        lines = lines[:cut]
    rendered = _render(_drop_quotes(lines))
    rendered = [line for line in rendered if line.strip() not in (QUOTE_HEADER, QUOTED_HISTORY)]
    return "\n".join(_trim_end(rendered))


def new_text(message: Message) -> str:
    """The newly written part of an email's body (see the module's docstring)."""
    plain, html = body_parts(message)
    if plain is not None and plain.strip():
        return extract(plain)
    if html is not None:
        return extract(html_to_text(html[:MAX_HTML_CHARS], mark_quotes=True))
    return ""
