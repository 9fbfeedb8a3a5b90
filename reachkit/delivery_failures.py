"""Why a delivery failed, hard or soft: one table of reasons for every place that reads a
server's refusal (the sender at SMTP time, the unified inbox in bounce reports).

`classify_reason(status, texts)` reads a server's words first and an RFC 3463 status code
second: a specific text wins ("552 5.2.2 mailbox full" is soft though 5xx), and a delay is
soft whatever it says. Hard means stop mailing the address; soft means it may work later.
Pure: nothing here touches the database or the network.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

BounceType = Literal["hard", "soft"]
HARD: BounceType = "hard"
SOFT: BounceType = "soft"


@dataclass(frozen=True, slots=True)
class Reason:
    """A reason a delivery fails: hard (stop mailing the address) or soft (it may work later).

    `codes` are the RFC 3463 subject.detail pairs ("2.2" for X.2.2) that mean this reason, the
    first one standing in for the status when the report gives none (if `infers_status`).
    `pattern` is matched against lower-cased text (so it is written in lower case: matching
    without IGNORECASE is twice as fast).
    """

    name: str
    type: BounceType
    codes: tuple[str, ...]
    pattern: re.Pattern[str]
    infers_status: bool = True


def _reason(
    name: str, type_: BounceType, codes: tuple[str, ...], *phrases: str, infers: bool = True
) -> Reason:
    pattern = re.compile("|".join(f"(?:{phrase})" for phrase in phrases))
    return Reason(name, type_, codes, pattern, infers)


# Read in this order, first match wins: the soft reasons that name themselves come before the
# hard ones, so "temporarily blocked" or "mailbox full" are never read as a block or an
# unknown user; a domain that does not exist comes before an address that does not.
REASONS: tuple[Reason, ...] = (
    _reason(
        "mailbox_full",
        SOFT,
        ("2.2",),
        r"mail ?(box|folder)\w* (is |was )?(full|over)",
        r"(mail ?box|inbox|account|user|recipient)('?s)? (storage |disk )?(is |was )?(full|over)",
        r"(mail ?box|disk|storage) space (is )?not enough|not enough (mailbox |disk )?space",
        r"over (the |his |her |their |its )?(allowed |disk |storage |mailbox )?quota",
        r"overquota|quota ?exceeded|shutoffquotaexceeded",
        r"exceed(s|ed|ing)? (the |his |her |their |its )?(allowed )?"
        r"(storage |disk |mailbox |message )?(quota|storage (limit|allocation))",
        r"(?<!sending )(?<!daily )(?<!hourly )\bquota\b",
        r"insufficient (storage|space|disk space) (in|for) (the )?(mail ?box|user|recipient)",
        r"postfach (ist )?(voll|überfüllt)|speicher(platz|kontingent)? .{0,30}(überschritten|voll)",
        r"bo[iî]te (aux lettres |de réception |mail )?(est )?(pleine|satur[ée]e)",
        r"buz[oó]n (de correo )?(est[aá] )?(lleno|completo)",
        r"casella (di posta )?(è )?(piena|satura)",
        r"(mailbox|postbus) (is )?vol\b",
        r"caixa (de correio |postal )?(est[aá] )?(cheia|lotada)",
        r"(brevlådan|postlådan) är full|skrzynka .{0,30}(pełna|przepełniona)",
        r"ящик .{0,30}переполнен|превышен.{0,20}квот",
        r"メールボックス.{0,10}(いっぱい|容量|満杯)|容量.{0,6}超",
    ),
    _reason(
        "disk_full",
        SOFT,
        ("3.1",),
        r"insufficient system (storage|resources)|system storage",
        r"(disk|file ?system|spool|partition) (is )?full|no space left|out of (disk )?space",
    ),
    _reason("greylisted", SOFT, (), r"gr[ae]y[- ]?list", infers=False),
    _reason(
        "rate_limited",
        SOFT,
        ("7.28",),
        r"rate[- ]?limit|throttl|unusual rate|receiving mail at a rate|(sending|message) rate",
        r"too many (messages|mails|e-?mails|connections|recipients|concurrent|requests|sessions)",
        r"(daily|hourly|sending) (sending )?(limit|quota) (exceeded|reached)",
        r"reached (a|the|your) (daily |hourly )?(sending )?limit",
        r"\[ts[s0]\d\d\]|unexpected volume|user complaints",
        infers=False,
    ),
    _reason(
        "temporary",
        SOFT,
        (),
        r"temporar(y|ily) (rejected|refused|blocked|deferred|unavailable|suspended|disabled|"
        r"failure|problem|error|local problem|not available)",
        r"try (again )?later|retry later|try again in \d+|come back later|deferred",
        r"(service|server|mailbox) (is )?temporarily|temporary (problem|failure|error)",
        infers=False,
    ),
    _reason(
        "bad_domain",
        HARD,
        ("1.2", "4.4"),
        r"(host|domain)( name)?( \S+)? (not found|unknown|does ?n[o']t exist|"
        r"could ?n[o']t be found|cannot be found|not exist)",
        r"unknown (host|domain)|no such (domain|host)|non-existent hosts?",
        r"\bno (mx|mail exchanger|valid mx|dns|mail servers?)\b|mx (record|lookup)",
        r"(name service|dns|nameserver) error|nxdomain|unrouteable (mail )?(domain|address)",
        r"null mx|does not accept (e-?)?mail|unable to (route|resolve)",
        r"domain .{0,60}(could ?n[o']t|cannot|can't) be found",
        r"domain .{0,40}(existiert nicht|nicht gefunden)",
        r"domaine .{0,40}(introuvable|n'existe pas|inconnu)",
        r"dominio .{0,40}(no existe|desconocido|no encontrado|inesistente)",
    ),
    _reason(
        "unknown_user",
        HARD,
        ("1.1", "1.10", "1.0", "1.3", "1.6"),
        r"(user|recipient|mailbox|address|account|addressee|alias)s? (is |name )?unknown",
        r"unknown (user|recipient|mailbox|e-?mail address|address|account|local[- ]part|alias)",
        r"no such (user|recipient|mailbox|address|account|person|local user|alias)",
        r"does ?n[o']t exist|did ?n[o']t exist|not exist",
        r"(user|recipient|mailbox|address|account)( \S+)? (was )?not (found|known)",
        r"not a valid (user|recipient|address|mailbox)|(recipient|user)( name)? is not recognized",
        r"invalid (recipient|mailbox|address|user|e-?mail address|destination)",
        r"recipient (address )?rejected|address rejected|recipientnotfound|recipnotfound",
        r"address (could ?n[o']t|cannot|can't) be found|could not be found",
        r"not listed in|no mailbox (here|by that name)|mailbox (unavailable|not available)",
        r"does ?n[o']t have an? \S+ account|wasn't found at|was not found at|not our customer",
        r"(benutzer|empfänger|postfach|adresse)( \S+)? (ist )?unbekannt|existiert nicht",
        r"unbekannte[rn]? (benutzer|empfänger|adresse)|wurde .{0,60}nicht gefunden",
        r"(utilisateur|destinataire|adresse)( \S+)? (est )?(inconnu|inexistant)|n'existe pas",
        r"introuvable|non recens",
        r"(usuario|destinatario|buz[oó]n|direcci[oó]n)( \S+)? (es )?desconocid|no existe",
        r"(utente|destinatario|indirizzo)( \S+)? (è )?(sconosciut|inesistent)|non esiste",
        r"onbekende (gebruiker|ontvanger)|bestaat niet|niet gevonden",
        r"(usuário|utilizador|destinatário|endereço)( \S+)? (é )?desconhecid|não existe",
        r"okänd (användare|mottagare)|finns inte|nie istnieje|nieznany (użytkownik|odbiorca)",
        r"не существует|неизвестн\w* (пользовател|получател|адрес)|не найден",
        r"(宛先|ユーザー?|アドレス|受信者).{0,20}(見つかりません|存在しません|不明)|存在しない",
    ),
    _reason(
        "mailbox_disabled",
        HARD,
        ("2.1",),
        r"(mail ?box|account|user|address|recipient)( \S+)? (is |has been |was )?"
        r"(disabled|deactivated|inactive|suspended|closed|terminated|expired|discontinued)",
        r"(disabled|inactive|suspended|deactivated|closed) (user|account|mailbox|recipient)",
        r"no longer (active|available|in use|valid|exists)",
        r"(postfach|konto)( \S+)? (ist |wurde )?(deaktiviert|gesperrt|gelöscht|stillgelegt)",
        r"(compte|bo[iî]te).{0,30}(désactiv|inactif|suspendu|fermé)",
        r"(cuenta|buz[oó]n).{0,30}(desactivad|inactiv|suspendid|cerrad)",
    ),
    _reason(
        "policy",
        HARD,
        ("7.1", "7.0", "7.26", "7.25", "7.27", "7.23", "7.7"),
        r"\bspam\b|unsolicited|blacklist|blocklist|block list|black list|spamhaus|\brbl\b",
        r"\bblocked\b|listed (at|on|in)|reputation|policy|policies",
        r"not accepting (e-?mail|mail|messages) from",
        r"not (allowed|authori[sz]ed|permitted)|(access|relay(ing)?|permission) denied|\bdenied\b",
        r"refused|prohibited|dmarc|dkim|\bspf\b|unauthenticated|authentication (required|failed)",
        r"virus(es)? (found|detected)|contains? a virus|malware|phishing|infected|banned",
        r"content (rejected|filter)",
        r"sender (address )?(rejected|blocked|denied)",
    ),
    _reason(
        "message_too_large",
        SOFT,
        ("3.4", "2.3"),
        r"(message|mail|e-?mail)( size)? (is )?(too (large|big|long)|exceeds)",
        r"size (limit|exceeds|too large)",
        r"exceed(s|ed)? (the )?(maximum )?(incoming )?(message )?size",
        r"(nachricht|e-mail) (ist )?zu groß|message (est )?trop (gros|volumineux)",
        r"mensaje (es )?demasiado grande",
    ),
    _reason(
        "unreachable",
        SOFT,
        ("4.7", "4.1", "4.2", "4.6"),
        r"timed? ?out|connection (refused|reset|lost|closed|dropped)|no route to host",
        r"(could|can)(n'?t| not) connect",
        r"(host|server)( \S+)? (is )?(unreachable|down|not responding)",
        r"not reachable|maximum delivery attempts|\blooping\b",
        r"retry time(out)? (not reached|exceeded)|(message|delivery time) expired|\bexpired\b",
        r"hop count|mail loop|too many hops|loops? back to myself|routing loop",
        infers=False,
    ),
)

REASONS_BY_NAME = {reason.name: reason for reason in REASONS}

# RFC 3463 enhanced codes ("5.1.1", Gmail's "#5.1.0") and basic SMTP replies ("550 ", "550-").
_ENHANCED = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
BASIC_REPLY_CODE = re.compile(r"(?<![\d.])([245])\d\d(?= |-(?!\d)|$)", re.MULTILINE)


def enhanced_codes(text: str) -> list[str]:
    return [".".join(found.groups()) for found in _ENHANCED.finditer(text)]


def status_code(value: str) -> str | None:
    """The first RFC 3463 code in a text (a Status field, a server's answer), or None."""
    found = _ENHANCED.search(value)
    return ".".join(found.groups()) if found else None


def classify_reason(
    status: str | None, texts: Iterable[str], *, delayed: bool = False
) -> tuple[BounceType, str]:
    """Hard or soft, and the reason's name, from a status code and the texts that explain it.

    `texts` are read in order (the server's answer first, then the report's words): the first
    one any reason's phrases match decides. A status code decides only when no text does. A
    delay is soft whatever it says.
    """
    reason: Reason | None = None
    for text in texts:
        reason = _match(text)
        if reason is not None:
            break
    code_class = status[0] if status else None
    if reason is None and status is not None:
        reason = _reason_for_code(status)
        if reason is not None and code_class == "4" and reason.type == HARD:
            reason = None
    if delayed:
        return SOFT, reason.name if reason is not None and reason.type == SOFT else "delayed"
    if reason is not None:
        return reason.type, reason.name
    if code_class == "4":
        return SOFT, "temporary"
    return HARD, "other"


def _match(text: str) -> Reason | None:
    if not text:
        return None
    lowered = text.lower()
    for reason in REASONS:
        if reason.pattern.search(lowered):
            return reason
    return None


def _reason_for_code(status: str) -> Reason | None:
    _, subject, detail = status.split(".")
    pair = f"{subject}.{detail}"
    for reason in REASONS:
        if pair in reason.codes:
            return reason
    for reason in REASONS:
        if any(code.split(".")[0] == subject for code in reason.codes if code.endswith(".0")):
            return reason
    return None
