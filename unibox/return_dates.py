"""When is the person back? The return date an out-of-office text gives, in English, German,
French, Spanish, Dutch, Portuguese or Italian, read relative to the message's own date.

A small reader of its own rather than dateparser: an out-of-office text writes its return
date in a handful of shapes (`14 January`, `January 14th`, `14.01.`, `14/01/2025`,
`2025-01-14`, `Monday`, `tomorrow`), and what matters is *which* date in the text is the
return (the one after "back"/"zurück"/"de retour"…, not the first day of the absence), which
a general parser does not know. Reading all shapes with a few regular expressions takes
microseconds; dateparser needs milliseconds per phrase and a language guess.

1. Find every date phrase in the text (a longer phrase wins over one inside it).
2. Rank each by its cue: a return word before it or just after it ("back on 14 January",
   "am 14.01. wieder im Büro") ranks first; an "until" word before it ("until", "bis",
   "jusqu'au", "hasta", "tot", "até") second, one day later when the text says the day is
   included ("bis einschließlich 13.01.", "t/m", "through", "inclus"). Weekdays and
   "tomorrow" count only with a cue.
3. The first phrase of the best rank wins; with no cue at all, a lone date is taken.
4. A date without a year is the next such day on or after the message's date (up to
   `GRACE_DAYS` before it still counts as this year: a responder left on after its return
   date names a day just past, which is closer to the truth than the same day next year).
   An ambiguous numeric date with slashes or dashes (`03/01`) is read day-first or
   month-first, whichever falls closer after the message's date.
"""

import re
from dataclasses import dataclass
from datetime import date, timedelta

GRACE_DAYS = 14
# Text beyond this is not read: a return date sits near the top of any out-of-office note.
MAX_TEXT = 4000

_MONTHS: dict[int, tuple[str, ...]] = {
    1: (
        "january",
        "januar",
        "jänner",
        "janvier",
        "janv",
        "enero",
        "ene",
        "januari",
        "janeiro",
        "gennaio",
        "jan",
    ),
    2: (
        "february",
        "februar",
        "février",
        "fevrier",
        "févr",
        "fevr",
        "fév",
        "fev",
        "febrero",
        "februari",
        "fevereiro",
        "febbraio",
        "feb",
    ),
    3: ("march", "märz", "maerz", "mär", "mars", "marzo", "maart", "mrt", "março", "marco", "mar"),
    4: ("april", "avril", "avr", "abril", "abr", "aprile", "apr"),
    5: ("may", "mai", "mayo", "mei", "maio", "maggio", "mag"),
    6: ("june", "juni", "juin", "junio", "junho", "giugno", "jun"),
    7: ("july", "juli", "juillet", "juil", "julio", "julho", "luglio", "jul"),
    8: ("august", "août", "aout", "agosto", "augustus", "ago", "aug"),
    9: (
        "september",
        "septembre",
        "septiembre",
        "setiembre",
        "setembro",
        "settembre",
        "sept",
        "sep",
    ),
    10: ("october", "oktober", "octobre", "octubre", "outubro", "ottobre", "okt", "oct", "ott"),
    11: ("november", "novembre", "noviembre", "novembro", "nov"),
    12: (
        "december",
        "dezember",
        "décembre",
        "decembre",
        "diciembre",
        "dezembro",
        "dicembre",
        "déc",
        "dec",
        "dez",
        "dic",
    ),
}
_MONTH_OF = {name: number for number, names in _MONTHS.items() for name in names}
_MONTH_NAMES = "|".join(sorted(_MONTH_OF, key=len, reverse=True))

_WEEKDAYS: dict[int, tuple[str, ...]] = {
    0: ("monday", "montag", "lundi", "lunes", "maandag", "segunda-feira", "segunda", "lunedì"),
    1: ("tuesday", "dienstag", "mardi", "martes", "dinsdag", "terça-feira", "terça", "martedì"),
    2: (
        "wednesday",
        "mittwoch",
        "mercredi",
        "miércoles",
        "miercoles",
        "woensdag",
        "quarta-feira",
        "quarta",
        "mercoledì",
    ),
    3: (
        "thursday",
        "donnerstag",
        "jeudi",
        "jueves",
        "donderdag",
        "quinta-feira",
        "quinta",
        "giovedì",
    ),
    4: ("friday", "freitag", "vendredi", "viernes", "vrijdag", "sexta-feira", "sexta", "venerdì"),
    5: ("saturday", "samstag", "sonnabend", "samedi", "sábado", "sabado", "zaterdag", "sabato"),
    6: ("sunday", "sonntag", "dimanche", "domingo", "zondag", "domenica"),
}
_WEEKDAY_OF = {name: number for number, names in _WEEKDAYS.items() for name in names}
_WEEKDAY_NAMES = "|".join(sorted(_WEEKDAY_OF, key=len, reverse=True))
_TOMORROW = "tomorrow|morgen|demain|mañana|manana|amanhã|amanha|domani"

_L = r"a-zà-ÿ"  # letters that may not touch a name on either side
_DAY = r"(?P<d>[0-3]?\d)"
_YEAR = r"(?P<y>(?:19|20)\d\d)"

_DAY_MONTH = re.compile(
    rf"(?<![\d.{_L}]){_DAY}(?:st|nd|rd|th|er|e|º|°|ª)?\.?\s*(?:of\s+|de\s+|di\s+)?"
    rf"(?P<m>{_MONTH_NAMES})(?![{_L}])\.?(?:,?\s*(?:de\s+)?{_YEAR}(?!\d))?",
    re.IGNORECASE,
)
_MONTH_DAY = re.compile(
    rf"(?<![{_L}])(?P<m>{_MONTH_NAMES})\.?\s+(?:the\s+)?{_DAY}(?:st|nd|rd|th)?(?![\d{_L}])"
    rf"(?:,?\s*{_YEAR}(?!\d))?",
    re.IGNORECASE,
)
_NUMERIC = re.compile(
    r"(?<![\d./:,-])(?P<a>[0-3]?\d)(?P<sep>[./-])(?P<b>[01]?\d)"
    r"(?:(?P=sep)(?P<y>(?:19|20)?\d\d))?(?!\d|[/:-]\d|\.\d|,\d)"
)
_ISO = re.compile(r"(?<![\d.])(?P<y>20\d\d)-(?P<m>[01]?\d)-(?P<d>[0-3]?\d)(?!\d)")
_ORDINAL_DAY = re.compile(r"(?<![\w.])(?:the\s+)?(?P<d>[0-3]?\d)(?:st|nd|rd|th)\b", re.IGNORECASE)
_WEEKDAY = re.compile(rf"(?<![{_L}-])(?P<w>{_WEEKDAY_NAMES})(?![{_L}])", re.IGNORECASE)
_RELATIVE = re.compile(rf"(?<![{_L}])(?:{_TOMORROW})(?![{_L}])", re.IGNORECASE)

# "back on 14 January", "de retour le", "regreso el", "terug op", "de volta em", "rientro il".
_RETURN_BEFORE = re.compile(
    r"(?<![a-zà-ÿ])(?:back|return\w*|resum\w*|in the office again|available again|"
    r"zurück|zurueck|wieder|rückkehr|retour|reviens|reviendrai|rentre|rentrerai|reprends|"
    r"reprendrai|reprise|à nouveau|vuelta|regres\w*|vuelvo|volveré|volvere|retorn\w*|"
    r"de nuevo|terug\w*|weer|opnieuw|volta|voltarei|volto|novamente|de novo|rientr\w*|"
    r"torner\w*)(?![a-zà-ÿ])",
    re.IGNORECASE,
)
# "14 January I'll be back", "am 14.01. wieder im Büro", "le 14/01 je serai de retour".
_RETURN_AFTER = re.compile(
    r"^\.?(?:(?!\b(?:when|once|upon|after|wenn|nach|quand|après|cuando|después|wanneer|zodra|"
    r"quando|após)\b)[^.!?\n]){0,30}?(?<![a-zà-ÿ])(?:back|return|zurück|wieder|retour|reviens|rentre|"
    r"de vuelta|regreso|terug|weer|de volta|regress\w*|retorn\w*|rientr\w*)(?![a-zà-ÿ])",
    re.IGNORECASE,
)
_UNTIL = re.compile(
    r"(?<![a-zà-ÿ])(?:until|till|til|through|thru|bis|jusqu'?au|jusqu'?à|"
    r"au|hasta|al|tot|t/m|até|ate|fino al|fino a)(?![a-zà-ÿ])",
    re.IGNORECASE,
)
_INCLUSIVE_BEFORE = re.compile(
    r"(?:through|thru|einschließlich|einschliesslich|inklusive|t/m|tot en met)\W*"
    r"(?:\w+\W+){0,3}$",
    re.IGNORECASE,
)
_INCLUSIVE_AFTER = re.compile(
    r"^\W{0,3}(?:\(?\s*)(?:inclusive|inclusively|included|einschließlich|einschl\.?|"
    r"inklusive|inkl\.?|inclus|incluse|inclusivement|compris|incluido|incluida|inclusief)"
    r"(?![a-zà-ÿ])",
    re.IGNORECASE,
)
# Between a cue and its date: no sentence end, no blank line.
_SENTENCE_END = re.compile(r"[!?]|\n\s*\n|[a-zà-ÿ]{4,}\.(?:\s|$)", re.IGNORECASE)

_CUE_REACH = 50
_RETURN, _UNTIL_RANK, _NO_CUE = 0, 1, 2


@dataclass(frozen=True)
class _Found:
    start: int
    end: int
    candidates: tuple[date, ...]  # what it may mean, best reading first
    needs_cue: bool  # weekdays, "tomorrow", "the 14th": only next to a return or until word


def _valid(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _forward(month: int, day: int, sent_on: date) -> date | None:
    """The next `day`.`month` on or after `sent_on` (less the grace), within eight years
    (29 February)."""
    earliest = sent_on - timedelta(days=GRACE_DAYS)
    for year in range(sent_on.year, sent_on.year + 9):
        found = _valid(year, month, day)
        if found is not None and found >= earliest:
            return found
    return None


def _dated(year: str | None, month: int, day: int, sent_on: date) -> date | None:
    if year is None:
        return _forward(month, day, sent_on)
    number = int(year)
    return _valid(number + 2000 if number < 100 else number, month, day)


def _collect(text: str, sent_on: date) -> list[_Found]:
    found: list[_Found] = []

    def add(match: re.Match[str], dates: list[date | None], needs_cue: bool = False) -> None:
        kept = tuple(each for each in dates if each is not None)
        if kept:
            found.append(_Found(match.start(), match.end(), kept, needs_cue))

    for match in _DAY_MONTH.finditer(text):
        month = _MONTH_OF[match["m"].lower()]
        add(match, [_dated(match["y"], month, int(match["d"]), sent_on)])
    for match in _MONTH_DAY.finditer(text):
        month = _MONTH_OF[match["m"].lower()]
        add(match, [_dated(match["y"], month, int(match["d"]), sent_on)])
    for match in _ISO.finditer(text):
        add(match, [_valid(int(match["y"]), int(match["m"]), int(match["d"]))])
    for match in _NUMERIC.finditer(text):
        first, second, year = int(match["a"]), int(match["b"]), match["y"]
        readings = [_dated(year, second, first, sent_on)]
        if match["sep"] != ".":  # 14.01. is day-first everywhere; 01/14 may be American
            readings.append(_dated(year, first, second, sent_on))
        readings.sort(key=lambda each: abs((each - sent_on).days) if each else 1 << 30)
        add(match, readings)
    for match in _ORDINAL_DAY.finditer(text):
        day = int(match["d"])
        month, year = sent_on.month, sent_on.year
        if day < sent_on.day:
            month, year = (1, year + 1) if month == 12 else (month + 1, year)
        add(match, [_valid(year, month, day)], needs_cue=True)
    for match in _WEEKDAY.finditer(text):
        ahead = (_WEEKDAY_OF[match["w"].lower()] - sent_on.weekday() - 1) % 7 + 1
        add(match, [sent_on + timedelta(days=ahead)], needs_cue=True)
    for match in _RELATIVE.finditer(text):
        add(match, [sent_on + timedelta(days=1)], needs_cue=True)

    # A longer phrase wins over the ones it contains; a weekday or ordinal inside a full date
    # ("Monday, 14 January") is part of it.
    found.sort(key=lambda each: (each.start, -(each.end - each.start)))
    kept: list[_Found] = []
    for each in found:
        if kept and each.start < kept[-1].end:
            continue
        kept.append(each)
    return _merge_weekdays(kept, text)


def _merge_weekdays(found: list[_Found], text: str) -> list[_Found]:
    """A weekday right before a date ("Monday, 14 January", "lundi 14/01") is that date."""
    merged: list[_Found] = []
    for each in found:
        if (
            merged
            and merged[-1].needs_cue
            and not each.needs_cue
            and re.fullmatch(
                r"[\s,]*(?:den|the|le|el|de|o|il)?[\s,]*", text[merged[-1].end : each.start]
            )
        ):
            weekday = merged.pop()
            each = _Found(weekday.start, each.end, each.candidates, False)
        merged.append(each)
    return merged


def _rank(found: _Found, text: str, next_start: int) -> tuple[int, bool]:
    """The cue before or after a date phrase, and whether the day itself is still away.

    A return word after the phrase counts only when no other date follows it closely: in
    "del 2 al 13 de enero, regreso el 14 de enero" the "regreso" is the 14th's.
    """
    before = text[max(0, found.start - _CUE_REACH) : found.start]
    after = text[found.end : min(found.end + 60, next_start)]
    inclusive = bool(_INCLUSIVE_BEFORE.search(before[-25:]) or _INCLUSIVE_AFTER.match(after))
    ranks = {
        rank
        for rank, pattern in ((_RETURN, _RETURN_BEFORE), (_UNTIL_RANK, _UNTIL))
        for cue in pattern.finditer(before)
        if not _SENTENCE_END.search(before[cue.end() :])
    }
    cue_after = _RETURN_AFTER.match(after)
    if cue_after is not None and next_start - (found.end + cue_after.end()) > _CUE_REACH:
        ranks.add(_RETURN)
    if not ranks:
        return _NO_CUE, False
    rank = min(ranks)
    return rank, inclusive and rank == _UNTIL_RANK


def find_return_date(text: str, sent_on: date, *, cued_only: bool = False) -> date | None:
    """The day the writer of an out-of-office text is back, or None when it names none.

    `cued_only`: only a date next to a return or until word, never a lone date.
    """
    text = text[:MAX_TEXT].replace("\u2019", "'")
    found = _collect(text, sent_on)
    best: tuple[int, int, date] | None = None
    for position, each in enumerate(found):
        next_start = found[position + 1].start if position + 1 < len(found) else len(text) + 999
        rank, inclusive = _rank(each, text, next_start)
        if rank == _NO_CUE and each.needs_cue:
            continue
        day = each.candidates[0] + timedelta(days=1 if inclusive else 0)
        if best is None or rank < best[0]:
            best = (rank, position, day)
    if best is None:
        return None
    if best[0] == _NO_CUE:
        if cued_only:
            return None
        dated = [each for each in found if not each.needs_cue]
        return best[2] if len(dated) == 1 else None
    return best[2]
