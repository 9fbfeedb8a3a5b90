"""Hand-written cue phrases for each reply label, in English, German, French, Spanish, Dutch
and Portuguese: extra features for the linear model (`unibox.reply_model`).

Seventy-odd examples per label cannot show every way of asking for a call in six languages;
these groups can ("call", "Termin", "rendez-vous", "llamada", "afspraak", "reunião"…). Each
group is one feature, 1 when any of its phrases occurs: the model learns how much each
weighs. Texts and phrases are compared without accents ("reuniao" is "reunião").
"""

import re
import unicodedata

import numpy as np

from unibox.auto_replies import AWAY, LEFT
from unibox.phrases import PhraseSet
from unibox.unsubscribe_requests import asks_to_unsubscribe


def _accent_table() -> dict[int, str]:
    table = {0x2019: "'"}  # the typographic apostrophe, as typed by phones and word processors
    for code in range(0xC0, 0x250):
        char = chr(code)
        base = "".join(
            part for part in unicodedata.normalize("NFKD", char) if not unicodedata.combining(part)
        )
        if base and base != char:
            table[code] = base
    return table


_ACCENTS = _accent_table()


def strip_accents(text: str) -> str:
    """The text without accents on Latin letters: "Réunion" → "Reunion"."""
    return text.translate(_ACCENTS)


def fold(text: str) -> str:
    """Lower case without accents: how the model and the cues compare texts."""
    return text.lower().translate(_ACCENTS)


def _group(*patterns: str) -> PhraseSet:
    return PhraseSet([strip_accents(pattern) for pattern in patterns], re.IGNORECASE | re.MULTILINE)


CUES: dict[str, PhraseSet] = {
    "meeting": _group(
        r"\b(?:call|demo|zoom|teams|meet(?:ing)?|calendar|calendly|invite|slot|availability|"
        r"available|schedule|book|hop on|jump on|coffee|let'?s talk|talk (?:then|tomorrow|next)|"
        r"free (?:on|at|this|next|most|tuesday|monday))\b",
        r"\b(?:mon|tues|wednes|thurs|fri)day\b|\btomorrow\b|\btmrw\b|\bnext week\b|"
        r"\b\d{1,2}(?::\d\d)?\s?(?:am|pm)\b|\b\d{1,2}[:.]\d\d\b|\b\d{1,2}\s?(?:uhr|h|uur)\b",
        r"\btermin|telefonier|anrufen|\banruf|gespräch|\btreffen|kalender|einladung|zeitfenster|"
        r"passt (?:ihnen|es|dir)|montag|dienstag|mittwoch|donnerstag|freitag|\bmorgen\b|"
        r"nächste woche",
        r"\bappel|appeler|démo|rendez-vous|\brdv\b|visio|créneau|disponibilit|\bdispo\b|"
        r"invitation|calendrier|échange|lundi|mardi|mercredi|jeudi|vendredi|demain|"
        r"semaine prochaine|calons",
        r"llamada|llamar|llámame|reunión|videollamada|hueco|\bagenda|disponibilidad|invitación|"
        r"quedamos|nos vemos|lunes|martes|miércoles|jueves|viernes|\bmañana|semana que viene|"
        r"a las \d|agendemos|concertar",
        r"\bbellen\b|\bbel (?:me|mij)\b|gesprek|afspraak|uitnodiging|inplannen|koffie|maandag|"
        r"dinsdag|woensdag|donderdag|vrijdag|volgende week|\btijd\b",
        r"chamada|\bligar\b|liga-me|reunião|demonstração|videochamada|horário|disponibilidade|"
        r"convite|\bmarcar\b|agendar|café|segunda|terça|quarta|quinta|sexta|amanhã|"
        r"próxima semana",
    ),
    "info": _group(
        r"\bhow much\b|\bwhat does (?:it|this) cost|\bcosts?\b|\bprice\b|kostet|coûte|cuesta|"
        r"custa|\bkost\b|\bin writing\b|schriftlich|par écrit|por escrito|op papier",
        r"\bsend (?:me|over|us|some)\b|more (?:info|information|details|context|material)|"
        r"\bdeck\b|one-pager|brochure|pricing|price list|rate card|\bquote\b|proposal|case stud|"
        r"documentation|whitepaper|video|overview|\bmaterial|\bdetails\b|specifics|references|"
        r"product sheet",
        r"informationen|\binfos?\b|unterlagen|preisliste|infoblatt|\bangebot\b|referenzen|"
        r"präsentation|\bdetails\b|übersicht|zusenden|schicken sie|senden sie|infomaterial",
        r"informations|plaquette|présentation|grille tarifaire|tarifs|documentation|proposition|"
        r"cas clients|vidéo|détails|envoyer|envoyez|transmettre|faire parvenir",
        r"información|dossier|presentación|precios|tarifas|ficha|casos de éxito|documentación|"
        r"presupuesto|vídeo|detalles|envíame|mándame|envíenos|remitiera",
        r"informatie|brochure|presentatie|prijzen|offerte|documentatie|klantcases|\bsturen\b|"
        r"\bstuur\b|toesturen",
        r"informações|apresentação|catálogo|tabela de preços|preços|documentação|proposta|"
        r"casos de sucesso|detalhes|\benviar\b|\benvie\b|\bmanda\b|material",
    ),
    "question": _group(
        r"^\s*(?:how|what|where|who|which|why|does|do|is|are|can|could|will|would|have|"
        r"has)\b[^\n]*\?",
        r"\b(?:wie|was|wo|wer|welche|gibt es|ist|sind|kann|können|funktioniert)\b[^\n]*\?",
        r"\b(?:comment|quel|quelle|où|qui|est-ce|combien|pourquoi|y a-t-il|"
        r"vous proposez)\b[^\n]*\?",
        r"¿|\b(?:cómo|qué|dónde|quién|cuál|cuánto|cuántos)\b",
        r"\b(?:hoe|wat|waar|wie|welke|is er|zijn jullie|kan ik|hebben jullie|werkt)\b[^\n]*\?",
        r"\b(?:como|qual|onde|quem|quanto|quantas|existe|vocês|têm|dá para|integra)\b[^\n]*\?",
    ),
    "yes": _group(
        r"\bwe'?d like to (?:start|go ahead|move|switch|proceed|try)|"
        r"\bwant to (?:start|move|go|switch)|"
        r"\bhappy to (?:be|give|try)|\bconvinced\b|\bwe want\b",
        r"\bwollen (?:das|starten|los|gerne)|legen wir los|nehmen wir|überzeugt|an bord",
        r"on signe|souhaitons (?:aller|démarrer|passer)|convaincue?|aller de l'avant|on aimerait",
        r"queremos (?:empezar|seguir|probar)|lo contratamos|me convence|convencid|nos encanta",
        r"willen (?:starten|ermee|graag)|akkoord|overtuigd|bevalt",
        r"queremos (?:começar|avançar|experimentar)|aceitamos|fechado|convenceu|gostei",
        r"\b(?:yes|yeah|yep|sure|interested|sounds (?:good|great|interesting)|let'?s (?:do it|go|"
        r"proceed|move)|count (?:me|us) in|sign (?:me|us) up|i'?m in|go ahead|keen|on board|"
        r"move forward)\b",
        r"\bja\b|\bgerne?\b|interessiert|klingt (?:gut|spannend|interessant)|dabei|machen wir|"
        r"annehmen|starten",
        r"\boui\b|intéress|partant|allons-y|on y va|validons|tombe à pic",
        r"\bsí\b|interesa|adelante|apuntamos|cuenta con|vamos a por",
        r"\bja\b|interesse|doen mee|gaan ervoor|spreekt me aan|laten we",
        r"\bsim\b|tenho interesse|temos interesse|vamos|\bbora\b|contem|avançar",
    ),
    "no": _group(
        r"\bdeclin\w*|\bstick with\b|\b(?:doesn't|does not|won't) (?:fit|work for us)|"
        r"\bnot a (?:good )?fit\b|\bcutting\b|\bhard pass\b|\bdecided against\b",
        r"bleiben bei|dagegen entschieden|absagen|ablehnen|lohnt sich (?:bei uns )?nicht",
        r"restons sur|décliner|ne nous intéresse pas|pas pour nous|ne vaut pas le coup",
        r"seguimos con|declinar|no nos convenci|no compensa|no nos hace falta",
        r"blijven bij|afslaan|loont (?:het )?niet|niet nodig",
        r"manter a nossa|recusar|não nos convenceu|não compensa|não precisamos",
        r"\bno thanks|\bnot interested|\bno interest|"
        r"\bnot (?:a fit|for us|relevant|a priority|something we need)|\bpass\b|"
        r"we'?re (?:good|happy|all set)|already (?:use|have|work|renewed)|in-house|\bbudget|"
        r"decided (?:against|to go)|another (?:provider|vendor|solution)|\bnope\b|answer is no|"
        r"\bno need\b",
        r"kein(?:e)? (?:interesse|bedarf|thema)|\bnein\b|brauchen wir nicht|bereits|"
        r"anderen anbieter|intern\b|verzichten|leider (?:nein|nicht)|"
        r"passt (?:aktuell )?(?:leider )?nicht",
        r"non merci|pas intéress|pas (?:un sujet|une priorité|besoin)|aucun besoin|déjà|"
        r"autre (?:solution|outil)|en interne|réponse est non|passe mon tour",
        r"no,? gracias|no nos interesa|ya (?:trabajamos|usamos)|otro proveedor|otra solución|"
        r"internamente|no es (?:para nosotros|prioritario)|no tenemos presupuesto|\bpaso\b",
        r"nee,? bedankt|geen (?:interesse|behoefte)|andere partij|intern\b|niet nodig|"
        r"niks voor ons|slaan over|helaas niet",
        r"não,? obrigad|sem interesse|não temos interesse|já usamos|"
        r"outra (?:ferramenta|solução)|internamente|não é (?:para nós|prioridade)|"
        r"fora do nosso orçamento",
    ),
    "wrong": _group(
        r"(?:not|n't) the (?:right|correct) (?:person|contact)|wrong (?:person|contact|guy|one)|"
        r"not my (?:area|department|call|role)|"
        r"(?:don'?t|do not) (?:handle|make (?:the )?decisions|deal with|work in)|"
        r"not responsible|not (?:involved|the decision)|meant (?:for )?(?:someone|another)|"
        r"mix-up|intern\b|no say",
        r"\bfalsch|nicht (?:zuständig|die richtige|der richtige)|nicht mein|"
        r"nichts (?:zu tun|sagen)|entscheide das nicht",
        r"pas la bonne (?:personne|interlocutrice)|mauvaise personne|pas mon domaine|trompé|"
        r"ne m'occupe pas|pas décisionnaire|erreur de destinataire|ne relève pas|"
        r"quelqu'un d'autre",
        r"persona (?:adecuada|equivocada)|no es mi área|equivocad|no llevo|no tomo decisiones|"
        r"otra persona|no depende de mí|nada que ver",
        r"niet de juiste|verkeerde persoon|niet mijn afdeling|ga ik niet over|beslis niet|"
        r"iemand anders|niet in sales|pakkie",
        r"pessoa (?:certa|errada)|não é minha área|engano|não cuido|não tomo decisões|"
        r"outra pessoa|não depende de mim|nada a ver",
    ),
    "refer": _group(
        r"\b(?:colleague|contact|reach out to|talk to|speak (?:to|with)|forward(?:ed|ing)?|"
        r"loop(?:ed|ing) in|copying|cc'?(?:ing|d)?|passed|looped|successor|the person you want|"
        r"best person|direct this|try\b)",
        r"kolleg|wenden sie sich|weitergeleitet|in cc|ansprechpartner|zuständig ist|"
        r"das macht bei uns|nachfolger|versuchen sie",
        r"collègue|en copie|adressez|transféré|transmis|bonne personne est|voyez|écrivez à|"
        r"contactez",
        r"compañer|en copia|reenviado|habla con|contacta|persona indicada|escribe a|"
        r"le he pasado|le paso",
        r"collega|in de cc|doorgestuurd|doorgezet|neem contact|juiste persoon is|probeer|"
        r"mail naar|compagnon",
        r"colega|em cópia|encaminhei|fale com|procure|pessoa certa é|escreva para|passei|"
        r"vou passar",
    ),
    "ack": _group(
        r"\bwe'?ll see\b|mal sehen|on verra|ya veremos|we zien wel|vamos ver|keep it on file|"
        r"\bsaved\b|hinterkopf|sous le coude|en cuenta|in gedachten|vou guardar",
        r"^\W*(?:thanks?|thank you|received|noted|got it|ok(?:ay)?|cheers|acknowledged|"
        r"appreciate it)\b|"
        r"\bwill (?:look|read|check|review|respond|reply|get back)|\blater\b|let me think|"
        r"circle back|pass (?:this|it) along|on my list|keep it in mind",
        r"^\W*(?:danke|erhalten|ok)\b|zur kenntnis|schaue|melde mich|nachdenken|später|"
        r"gebe das intern weiter",
        r"^\W*(?:merci|bien reçu|ok)\b|noté|je regarde|réfléchir|plus tard|reviendrai vers vous|"
        r"transmets en interne",
        r"^\W*(?:gracias|recibido|vale)\b|tomo nota|le echo|pensarlo|más adelante|internamente|"
        r"te digo algo",
        r"^\W*(?:bedankt|ontvangen|dank|ok)\b|genoteerd|ik kijk|nadenken|later|intern door",
        r"^\W*(?:obrigad[oa]|recebido|ok)\b|anotado|dar uma olhada|pensar|depois|"
        r"repassar internamente",
    ),
}

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}", re.IGNORECASE)
NAMES: tuple[str, ...] = (
    *CUES,
    "email_address",
    "away",
    "left_company",
    "unsubscribe",
    "question_marks",
)


def cue_features(text: str, folded: str | None = None) -> np.ndarray:
    """One value per name in NAMES for a `model_input` text (`folded` is `fold(text)`, when
    the caller has it)."""
    folded = fold(text) if folded is None else folded
    values = [1.0 if pattern.search(folded) else 0.0 for pattern in CUES.values()]
    values.append(1.0 if _EMAIL.search(text) else 0.0)
    values.append(1.0 if AWAY.search(text) else 0.0)
    values.append(1.0 if LEFT.search(text) else 0.0)
    subject, _, body = text.partition("\n")
    values.append(1.0 if asks_to_unsubscribe(body, subject) else 0.0)
    values.append(min(text.count("?"), 2) / 2)
    return np.array(values, dtype=np.float64)
