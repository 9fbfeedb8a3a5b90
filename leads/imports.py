"""Reading leads from the CSV files people export from CRMs and spreadsheets.

UTF-8 with or without a byte-order mark; commas, semicolons or tabs, whichever the header
line uses most; a header row whose `email`, `first_name` and `last_name` columns may be
spelled the usual ways ("E-mail", "Email Address", "First Name", "firstname", …); every
other named column becomes a variable under its normal name ("Company Name" →
`company_name`). Empty cells are "not given". Rows are checked with the API's rules (the
functions of leads.inputs: a quoted cell may hold a line break, which no name may) and
come out in batches, each bad row with its line number.

A row may span several physical lines only through a quoted cell. Such rows are counted
(`CsvLeads.spans`), so the summary can say when the file's lines and its rows differ, and
a quote that is never closed (or whose "closing" quote is really the opening quote of a
later cell) is reported on the line where it opens, with the lines it swallowed, instead
of silently merging the rows that follow it.
"""

import bisect
import csv
import io
import itertools
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from leads.inputs import (
    INVALID_EMAIL,
    MAX_VARIABLE_NAME_LENGTH,
    MAX_VARIABLES,
    REQUIRED,
    LeadInput,
    RuleBroken,
    Scalar,
    check_variable_value,
    clean_name,
    normalize_email,
)
from leads.variables import normalize_variable_name
from reachkit.text import header_text_error, plural

EMAIL = "email"
FIRST_NAME = "first_name"
LAST_NAME = "last_name"
# Header spellings, in their normal form (normalize_variable_name), of the lead's own fields.
FIELD_ALIASES = {
    EMAIL: {"email", "e_mail", "email_address", "e_mail_address", "mail", "emailaddress"},
    FIRST_NAME: {"first_name", "firstname", "first", "given_name", "forename"},
    LAST_NAME: {"last_name", "lastname", "last", "surname", "family_name"},
}
_FIELD_OF = {alias: name for name, aliases in FIELD_ALIASES.items() for alias in aliases}
DELIMITERS = (",", ";", "\t")
# Raise the csv module's 128 KiB cell cap: a variable may hold 5,000 characters, and a
# longer cell must be reported as too long, not crash the import.
MAX_CELL = 1024 * 1024
csv.field_size_limit(MAX_CELL)


class ImportRefused(Exception):
    """The file cannot be imported at all (no email column, ambiguous columns, …)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class CsvBatch:
    leads: list[LeadInput] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)  # the line each lead starts on
    errors: list[tuple[int, dict[str, Any]]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.leads) + len(self.errors)


def sniff_delimiter(header: str) -> str:
    """The delimiter the header line uses most, outside quotes; a comma when in doubt."""
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for char in header:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(DELIMITERS, key=lambda delimiter: counts[delimiter])
    return best if counts[best] else ","


class CsvLeads:
    """A CSV stream of leads. Reading the header may raise ImportRefused."""

    def __init__(self, stream: IO[bytes]) -> None:
        # surrogateescape: a row that is not UTF-8 is reported as a bad row, not a crash.
        self._text = io.TextIOWrapper(
            stream, encoding="utf-8-sig", errors="surrogateescape", newline=""
        )
        header_line = self._text.readline()
        if not header_line.strip():
            raise ImportRefused("The file is empty: the first line must name the columns.")
        self.delimiter = sniff_delimiter(header_line)
        header = next(csv.reader([header_line], delimiter=self.delimiter))
        self.columns = len(header)
        self.titles = [title.strip() for title in header]
        # Filled while reading: physical data lines (the header excluded), and the (first,
        # last) lines of every row that spans more than one line.
        self.lines = 0
        self.blank_lines = 0
        self.spans: list[tuple[int, int]] = []
        self._map_header(header)

    def _map_header(self, header: list[str]) -> None:
        self.fields: dict[str, int] = {}
        self.variables: list[tuple[int, str]] = []
        seen: dict[str, str] = {}
        for index, title in enumerate(header):
            if not _is_utf8(title):
                raise ImportRefused("The file is not UTF-8: save it as CSV UTF-8 and try again.")
            problem = header_text_error(title.strip(), f"The name of column {index + 1}")
            if problem is not None:
                raise ImportRefused(problem)
            name = normalize_variable_name(title)
            if not name:
                continue  # an unnamed column (often a trailing delimiter): nothing to keep
            target = _FIELD_OF.get(name, name)
            if target in seen:
                raise ImportRefused(
                    f'Columns "{seen[target]}" and "{title.strip()}" are both {target}.'
                )
            seen[target] = title.strip()
            if target in FIELD_ALIASES:
                self.fields[target] = index
            elif len(title.strip()) > MAX_VARIABLE_NAME_LENGTH:
                raise ImportRefused(
                    f'Column "{title.strip()[:20]}…" has a name longer than '
                    f"{MAX_VARIABLE_NAME_LENGTH} characters."
                )
            else:
                self.variables.append((index, name))
        if EMAIL not in self.fields:
            raise ImportRefused(
                "No email column: the header needs one named Email, E-mail or Email Address."
            )
        if len(self.variables) > MAX_VARIABLES:
            raise ImportRefused(
                f"At most {MAX_VARIABLES} variable columns, the file has {len(self.variables)}."
            )

    def batches(self, size: int) -> Iterator[CsvBatch]:
        """Rows in batches of `size` (good and bad together); blank lines are skipped."""
        batch = CsvBatch()
        for line, row, broken in self._rows():
            if broken is not None:
                batch.errors.append((line, {"non_field_errors": [broken]}))
                if len(batch) >= size:
                    yield batch
                    batch = CsvBatch()
                continue
            try:
                batch.leads.append(self._lead(row))
                batch.lines.append(line)
            except RuleBroken as error:
                batch.errors.append((line, {"non_field_errors": error.messages}))
            except _BadCell as error:
                batch.errors.append((line, {error.name: error.messages}))
            if len(batch) >= size:
                yield batch
                batch = CsvBatch()
        if len(batch):
            yield batch

    def _rows(self) -> Iterator[tuple[int, list[str], str | None]]:
        """(first line, cells, why the row is broken or None) for each row with content."""
        raw: list[str] = []  # the physical lines of the row being read

        def lines() -> Iterator[str]:
            for text in self._text:
                raw.append(text)
                yield text

        reader = csv.reader(lines(), delimiter=self.delimiter)
        last_line = 1  # the header
        while True:
            problem = None
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as error:  # a cell past the size cap, most likely a lost quote
                row, problem = [], f"This row cannot be read as CSV: {error}."
            line = last_line + 1
            last_line = 1 + reader.line_num
            self.lines = last_line - 1
            if len(raw) > 1:
                self.spans.append((line, last_line))
                quote = self._broken_quote(raw, line)
                if quote is not None:
                    # A cell past the size cap: the csv module gave up and reads on.
                    cut = problem is not None and quote.how == _NEVER_CLOSED
                    problem = quote.message(line, last_line, cut=cut)
            raw.clear()
            if problem is not None or any(row):
                yield line, row, problem
            else:
                self.blank_lines += last_line - line + 1

    def _broken_quote(self, raw: list[str], first_line: int) -> "_LostQuote | None":
        """The quote left open that made a row of several lines, or None when its quoted
        cells open and close where cells do (a note or an address may hold line breaks).

        Reads the row's text the way the csv module does (quotes open only at the start of
        a cell; `""` inside quotes is one quote) and finds the quoted cell that crosses a
        line end: it is broken when the text ends inside it, or when its closing quote is
        followed by more text instead of a delimiter or the line's end, which is what an
        opening quote of a later cell looks like once an earlier quote was left open.
        """
        text = "".join(raw)
        starts = list(itertools.accumulate((len(part) for part in raw[:-1]), initial=0))

        def line_at(position: int) -> int:
            return first_line + bisect.bisect_right(starts, position) - 1

        ends = (self.delimiter, "\n", "\r")
        cell, position, size = 0, 0, len(text)
        while position < size:
            if text[position] == '"':
                opened_at, position = position, position + 1
                while True:
                    position = text.find('"', position)
                    if position < 0:
                        return _LostQuote(self._cell_name(cell), line_at(opened_at), _NEVER_CLOSED)
                    if text[position + 1 : position + 2] != '"':
                        break
                    position += 2  # a doubled quote inside the cell
                position += 1
                crosses = line_at(position - 1) > line_at(opened_at)
                if crosses and position < size and text[position] not in ends:
                    return _LostQuote(self._cell_name(cell), line_at(opened_at), _CLOSED_MID_CELL)
            while position < size and text[position] not in ends:
                position += 1
            if position < size and text[position] == self.delimiter:
                cell, position = cell + 1, position + 1
            else:
                return None  # the row's end
        return None

    def _cell_name(self, cell: int) -> str:
        title = self.titles[cell] if cell < len(self.titles) else ""
        return f'the "{title}" cell' if title else f"cell {cell + 1}"

    def _lead(self, row: list[str]) -> LeadInput:
        if len(row) > self.columns and any(cell.strip() for cell in row[self.columns :]):
            raise RuleBroken(
                f"{plural(len(row), 'field')}, but the header has {plural(self.columns, 'column')}."
            )
        if not _is_utf8("".join(row)):
            raise RuleBroken("Not valid UTF-8: save the file as CSV UTF-8.")
        width = len(row)
        fields = self.fields
        email_cell = row[fields[EMAIL]].strip() if fields[EMAIL] < width else ""
        if not email_cell:
            raise _BadCell(EMAIL, REQUIRED)
        try:
            email = normalize_email(email_cell)
        except RuleBroken:
            raise _BadCell(EMAIL, INVALID_EMAIL) from None
        names: dict[str, str | None] = {FIRST_NAME: None, LAST_NAME: None}
        for name in (FIRST_NAME, LAST_NAME):
            index = fields.get(name)
            if index is not None and index < width:
                try:
                    names[name] = clean_name(row[index]) or None
                except RuleBroken as error:
                    raise _BadCell(name, *error.messages) from None
        variables: dict[str, Scalar] = {}
        for index, name in self.variables:
            if index < width:
                cell = row[index].strip()
                if cell:
                    problem = check_variable_value(name, cell)
                    if problem is not None:
                        raise _BadCell("variables", problem)
                    variables[name] = cell
        return LeadInput(
            email=email,
            first_name=names[FIRST_NAME],
            last_name=names[LAST_NAME],
            variables=variables,
        )


_NEVER_CLOSED = "is never closed"
_CLOSED_MID_CELL = "is not closed where the cell ends"


@dataclass
class _LostQuote:
    """A quote opened at the start of a cell and not closed where that cell ends."""

    cell: str  # 'the "Email" cell', or 'cell 4' when the column has no name
    line: int  # where it opens
    how: str  # _NEVER_CLOSED or _CLOSED_MID_CELL

    def message(self, first_line: int, last_line: int, *, cut: bool = False) -> str:
        how = f"is not closed within {MAX_CELL:,} characters" if cut else self.how
        resumed = f" (reading went on at line {last_line + 1})" if cut else ""
        return (
            f"The quote that opens {self.cell} on line {self.line} {how}, so lines "
            f"{first_line}-{last_line} were read as one row and not imported{resumed}: close "
            f'the quote, or write a quote inside a cell as "".'
        )


class _BadCell(Exception):
    def __init__(self, name: str, *messages: str) -> None:
        super().__init__(name, *messages)
        self.name = name
        self.messages = list(messages)


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def read_ahead(batches: Iterator[CsvBatch], depth: int = 2) -> Iterator[CsvBatch]:
    """Parse the next batches in a thread while the caller writes this one.

    Parsing is Python work and writing mostly waits for the database, so the two overlap.
    The thread touches no database; its errors are raised here, in the caller.
    """
    done = object()
    stop = threading.Event()
    ready: queue.Queue[Any] = queue.Queue(maxsize=depth)

    def produce() -> None:
        try:
            for batch in batches:
                while not stop.is_set():
                    try:
                        ready.put(batch, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            ready.put(done)
        except BaseException as error:  # handed to the caller below
            ready.put(error)

    thread = threading.Thread(target=produce, name="csv-read-ahead", daemon=True)
    thread.start()
    try:
        while (item := ready.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()
