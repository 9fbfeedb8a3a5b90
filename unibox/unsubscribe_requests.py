"""Does a reply ask us to stop writing to its sender? "Please remove me", "stop emailing me",
"unsubscribe", "take me off your list" and their German, French, Spanish, Dutch, Portuguese
and Italian forms.

These are rules, never left to a statistical guess: missing one keeps mailing someone who
said stop. The reply classifier (`unibox.classify`) answers `unsubscribe` when they match,
and the model reads the answer as one of its features (`unibox.reply_cues`).
"""

import re

from unibox.phrases import PhraseSet
from unibox.subjects import without_reply_prefixes


def _phrases(*patterns: str) -> PhraseSet:
    return PhraseSet(list(patterns))


_UNSUBSCRIBE = _phrases(
    # English
    r"\bunsub\b|\bun-?subs?c?r?i?b\w*",  # unsubscribe(d), unsub, "unsubcribe"; not "unsubtle"
    r"\bopt(?:-|\s)?(?:me\s+|us\s+)?out\b",
    r"\bremove (?:me|us|myself|my (?:e-?mail|e-?mail address|address|name|details|data|contact"
    r"(?: details| info)?|info(?:rmation)?)|this (?:e-?mail(?: address)?|address))\b",
    r"\bremove\b[^.!?\n]{0,40}\b(?:from|off) (?:your|the|this|all|any|ur)\b[^.!?\n]{0,25}"
    r"\b(?:list|database|system|records|mailing|distribution|cadence|sequence|campaign)",
    r"\btake (?:me|us|my (?:e-?mail|name|address)(?: address)?|this (?:e-?mail|address)) off\b",
    r"\btake my (?:e-?mail |name |)address off\b",
    r"\b(?:stop|quit|cease) (?:e-?mailing|emailing|mailing|contacting|messaging|spamming|"
    r"sending (?:me|us|these|this|your)|writing (?:to )?me|reaching out|following up|bugging|"
    r"pestering|harass\w*)",
    r"\b(?:don'?t|do not|dont|never) (?:ever )?(?:e-?mail|contact|message|write(?: to)?|spam|"
    r"send|reach out to|bother|call|follow up with) (?:me|us)\b",
    r"\b(?:don'?t|do not|dont) follow[- ]?up\b",
    r"\bno (?:more|further) (?:e-?mails|emails|messages|mails|contact)\b",
    r"\b(?:don'?t|do not|dont|no longer) (?:want|wish) to (?:receive|get|hear)\b",
    r"\b(?:don'?t|do not|dont) want (?:any )?(?:more|further) (?:e-?mails|emails|messages|mails)\b",
    r"\b(?:delete|erase) (?:all )?my (?:data|details|e-?mail|e-?mail address|contact|"
    r"information|personal data|info)\b",
    r"\bleave me alone\b",
    # German
    r"\babmeld\w*|\babbestell\w*|\baustragen\b|\bausgetragen\b|"
    r"\btragen Sie mich\b[^.!?\n]{0,30}\baus\b",
    r"\b(?:entfernen|streichen|löschen|loeschen)\s+Sie\s+(?:mich|uns|meine)\b",
    r"\bnehmen Sie mich\b[^.!?\n]{0,30}\b(?:aus|heraus|raus)\b",
    r"\baus (?:Ihrem|Ihrer|dem|der|eurem|eurer) (?:E-?Mail-)?(?:Verteiler|Liste|Datenbank|"
    r"Newsletter|"
    r"Mailingliste|Kartei|System|Adressliste|Adressdatei)\b",
    r"\b(?:Löschung|löschen) (?:meiner|aller meiner) (?:Daten|Adresse|E-?Mail)",
    r"\bkeine (?:weiteren|werblichen) (?:E-?Mails|Mails|Nachrichten|Werbung|Zusendungen|Kontakt)",
    r"\bkeine (?:E-?Mails|Mails|Nachrichten|Werbung|Zusendungen) mehr\b",
    r"\b(?:schreiben|kontaktieren|mailen|anschreiben) Sie mi(?:ch|r) (?:bitte )?"
    r"(?:nicht mehr|nie wieder|nicht wieder)\b",
    r"\bhören Sie auf,? mi(?:r|ch) zu\b|\bunterlassen Sie\b",
    r"\bnicht mehr (?:kontaktieren|anschreiben|anmailen|belästigen|zu kontaktieren|"
    r"anzuschreiben)\b",
    # French
    r"\bd[ée]sabonn\w*|\bd[ée]sinscri\w*",
    r"\b(?:retirez|supprimez|enlevez|rayez|effacez)[- ](?:moi|nous)\b",
    r"\b(?:retirez|supprimez|enlevez|effacez) (?:mon|mes|notre|nos)\b",
    r"\bme (?:retirer|supprimer|d[ée]sinscrire|enlever|rayer)\b",
    r"\bne\s+(?:me\s+|m'\s*|nous\s+)?(?:contact|écri|ecri|envo|sollicit|relanc)\w*\s+plus\b",
    r"\bne plus (?:me |m'|nous )\s*(?:envoyer|écrire|ecrire|contacter|solliciter|relancer)",
    r"\barr[êe]tez (?:de|de me|de m')\s*(?:m'|me )?\s*(?:écrire|ecrire|envoyer|contacter|"
    r"spammer|relancer|solliciter)",
    r"\bje ne (?:souhaite|veux|désire) plus (?:recevoir|être contacté)",
    r"\b(?:effacer|supprimer) (?:toutes )?mes (?:données|coordonnées)\b",
    # Spanish
    r"\bd\w*\s+de\s+baja\b|\bdesuscrib\w*|\bdesinscrib\w*|\bcancelar (?:la |mi )?suscripci[óo]n\b",
    r"\b(?:elimínenme|eliminenme|elimíname|bórrenme|borrenme|quítenme|quitenme|quitadme|"
    r"sáquenme|saquenme|sacadme|quítame|sácame|eliminadme|borradme)\b",
    r"\b(?:eliminen|borren|eliminar|borrar|quiten|quitar|eliminad|borrad)\s+(?:mi|mis)\s+"
    r"(?:correo|dirección|direccion|email|e-mail|datos|contacto)\b",
    r"\bdej\w*\s+de\s+(?:escribir|enviar|contactar|mandar|molestar)me\b",
    r"\bno me (?:escriban|contacten|envíen|envien|manden|escribas|contactes|envíes|mandes|"
    r"molesten|escribáis|contactéis|enviéis)\b",
    r"\bno (?:quiero|deseo) (?:recibir|que me (?:escriban|contacten|envíen))\b",
    # Dutch
    r"\bafmeld\w*|\buitschrijv\w*|\bschrijf (?:me|mij|ons) uit\b",
    r"\bverwijder (?:me|mij|ons|mijn)\b",
    r"\bhaal (?:me|mij|ons|mijn \w+) (?:van|uit)\b",
    r"\b(?:van|uit) (?:de|jullie|uw|je|deze|het) (?:mailinglijst|lijst|verzendlijst|database|"
    r"bestand|mailing)\b[^.!?\n]{0,20}\b(?:verwijder\w*|halen|afhalen)\b",
    r"\bstop (?:met|maar met) (?:mailen|e-?mailen|mij te mailen|me te mailen|berichten|sturen|"
    r"benaderen)\b",
    r"\bmail (?:me|mij) niet (?:meer|langer)\b|\bniet (?:meer|langer) (?:mailen|benader\w*|"
    r"contacteren|e-?mailen|sturen|lastigvallen)\b",
    r"\bgeen (?:e-?mails|mails|berichten|nieuwsbrieven) meer\b",
    r"\bgegevens (?:te )?(?:wissen|verwijderen)\b",
    # Portuguese
    r"\bdescadastr\w*|\bcancelar (?:a |minha )?(?:inscri[çc][ãa]o|subscri[çc][ãa]o|assinatura)\b",
    r"\banular (?:a )?subscri[çc][ãa]o\b",
    r"\b(?:removam|remova|retirem|tirem|excluam|apaguem|tira|tire)-(?:me|nos)\b",
    r"\bme (?:removam|remova|remover|retirem|tirem|tire|excluam|exclua|apaguem|descadastr\w*)\b",
    r"\b(?:remov|exclu|apag|retir|tir)\w*\s+(?:o\s+|os\s+|a\s+|as\s+)?(?:meu|minha|meus|minhas)"
    r"\s+(?:e-?mail|endere[çc]o|contato|contacto|dados|nome)\b",
    r"\bparem de (?:me )?(?:enviar|mandar|escrever|contatar|contactar)\b",
    r"\bnão (?:me )?(?:enviem|mandem|escrevam|contactem|contatem|enviar|mandar)\w* mais\b",
    r"\bnão (?:quero|desejo) (?:mais )?receber\b",
    r"\b(?:remov|tir|retir|exclu)\w*\b[^.!?\n]{0,20}\bda (?:vossa |sua )?lista\b",
    r"\bexclusão dos meus dados\b",
    # Italian
    r"\bcancellami\b|\bcancellatemi\b|\bdisiscriv\w*|\brimuovetemi\b|\bnon (?:scrivetemi|"
    r"contattatemi) più\b",
)
# A whole reply that is only this word (or two) asks to stop.
_ONE_WORD = re.compile(
    r"(?:please\s+)?(?:stop|stopp|remove|remover|unsubscribe|unsub|baja|opt\s*out|abmelden|"
    r"austragen|afmelden|uitschrijven|descadastrar|désinscription|désabonnement|stop\s+please|"
    r"quitar|sair)(?:\s+(?:please|pls|bitte|svp|por favor|aub|alsjeblieft|obrigado|thanks))?",
    re.IGNORECASE,
)
_NEGATED = re.compile(
    r"\b(?:don'?t|do not|not|never|no need to|nicht|kein\w*|ne|niet|não|nao|no|nunca)\s+"
    r"(?:\w+\s+)?$",
    re.IGNORECASE,
)
_NEGATED_AFTER = re.compile(r"^\W*(?:\w+\s+)?(?:pas|nicht|niet)\b", re.IGNORECASE)
# A line that is a link or an instruction ("Unsubscribe: https://…", "click here to
# unsubscribe", "reply STOP to opt out"): our own footer when quoted history slips through.
_FOOTER_LINE = re.compile(
    r"https?://|www\.|mailto:|\bclick here\b|\bhier klicken\b|\bcliquez ici\b|\bhaga clic\b|"
    r"\bclique aqui\b|\bklik hier\b|\breply (?:with )?[\"'“]?(?:stop|unsubscribe)\b",
    re.IGNORECASE,
)
_PUNCTUATION = re.compile(r"[\W_]+")
# "STOP." or "Stop!" opening a reply.
_STOP_FIRST = re.compile(r"\W*stop\s*[.!,;:]", re.IGNORECASE)
# Words that alone ask to stop, to be recognised with a typo ("unsubcribe", "Uitschrivjen").
_KEYWORDS = (
    "unsubscribe", "unsubscribed", "uitschrijven", "afmelden", "abmelden", "abbestellen",
    "austragen", "desinscription", "desinscrire", "desinscrivez", "desabonner", "desabonnez",
    "desabonnement", "descadastrar", "descadastre", "desuscribir", "desuscribirme",
    "desinscribirme", "disiscrivetemi",
)  # fmt: skip
_WORDS = re.compile(r"[^\W\d_]{6,}")
_FOLD = str.maketrans("àâäáãçéèêëíìîïñóòôöõúùûüœ", "aaaaaceeeeiiiinooooouuuuo")


def _one_word(text: str) -> bool:
    return bool(_ONE_WORD.fullmatch(_PUNCTUATION.sub(" ", text).strip()))


def _near(word: str, keyword: str) -> bool:
    """At most one letter added, dropped, changed, or two neighbours swapped."""
    if abs(len(word) - len(keyword)) > 1:
        return False
    previous2: list[int] = []
    previous = list(range(len(keyword) + 1))
    for i, char in enumerate(word, 1):
        current = [i]
        for j, other in enumerate(keyword, 1):
            cost = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char != other))
            if i > 1 and j > 1 and char == keyword[j - 2] and word[i - 2] == other:
                cost = min(cost, previous2[j - 2] + 1)
            current.append(cost)
        if min(current) > 1:
            return False
        previous2, previous = previous, current
    return previous[-1] <= 1


def _misspelt_keyword(text: str) -> re.Match[str] | None:
    for found in _WORDS.finditer(text):
        word = found.group().lower().translate(_FOLD)
        if any(word[:2] == keyword[:2] and _near(word, keyword) for keyword in _KEYWORDS):
            return found
    return None


def asks_to_unsubscribe(text: str, subject: str = "") -> bool:
    """Does this reply (its new text and subject) ask us to stop writing?

    A phrase anywhere counts, unless it is negated ("don't unsubscribe me"), quoted, or on a
    line that is a link or an instruction (our own footer, when quoted history slips
    through), and so do the words "unsubscribe", "abmelden", "uitschrijven"… with one typo;
    so does a reply whose first paragraph, or whose subject, is only "stop", "unsubscribe",
    "abmelden"…, or that opens with "STOP.".
    """
    subject = without_reply_prefixes(subject[:500])
    text = text[:5000].replace("\u2019", "'").strip()
    if _one_word(text.split("\n\n", 1)[0]) or _one_word(subject) or _STOP_FIRST.match(text):
        return True
    text = f"{subject}\n{text}"
    misspelt = _misspelt_keyword(text)
    for found in [*_UNSUBSCRIBE.finditer(text), *([misspelt] if misspelt else [])]:
        line_start = text.rfind("\n", 0, found.start()) + 1
        line_end = text.find("\n", found.end())
        line = text[line_start : line_end if line_end >= 0 else len(text)]
        if line.lstrip().startswith(">") or _FOOTER_LINE.search(line):
            continue
        if _NEGATED.search(text[max(0, found.start() - 25) : found.start()]):
            continue
        if _NEGATED_AFTER.match(text[found.end() : found.end() + 20]):
            continue
        return True
    return False
