"""Large sets of phrases, matched fast.

The mail-understanding modules recognise hundreds of phrases in seven languages ("out of the
office", "nicht mehr bei", "darme de baja"…). Written as one regular expression, each
costs Python's engine a try of every alternative at every position of the text: about 0.1 ms
per set for a short reply, which made classification ten times slower than its target.

A `PhraseSet` splits the alternatives apart and indexes them by the literal text each one
starts with ("out of", "nicht mehr", "darme"): one search for those literals, which the
engine runs in C without trying alternatives, finds the few places where a phrase may start,
and only there are the alternatives tried. Alternatives that start with no literal (a
character class, an optional group) are searched as before. The matches are the same as the
whole expression's, found in about a tenth of the time.
"""

import re
from collections.abc import Iterator

_QUANTIFIERS = "?*{"
_SPECIAL = set("\\()[]{}.*+?|^$")
# Shorter literal prefixes would find candidates almost everywhere.
_MIN_PREFIX = 2


def split_alternatives(pattern: str) -> list[str]:
    """The top-level alternatives of a regular expression (outside groups and classes)."""
    parts: list[str] = []
    depth = 0
    in_class = False
    start = 0
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            if pattern[index + 1 : index + 2] == "]":  # "[]…]": a literal "]"
                index += 1
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            parts.append(pattern[start:index])
            start = index + 1
        index += 1
    parts.append(pattern[start:])
    return parts


def _closing(pattern: str, start: int) -> int:
    """The index of the ")" closing the group opened at `start`, or -1."""
    depth = 0
    index = start
    in_class = False
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index
        index += 1
    return -1


def _zero_width_lead(branch: str) -> int:
    """How many leading characters of `branch` match nothing (`\\b`, lookbehinds)."""
    index = 0
    while True:
        if branch.startswith("\\b", index):
            index += 2
        elif branch.startswith(("(?<!", "(?<="), index):
            end = _closing(branch, index)
            if end < 0:
                return index
            index = end + 1
        else:
            return index


def _expand(branch: str) -> list[str]:
    """`\\b(?:a|b)c` as `\\b(?:a)c` and `\\b(?:b)c`, so that each starts with a literal."""
    lead = _zero_width_lead(branch)
    if not branch.startswith("(?:", lead):
        return [branch]
    end = _closing(branch, lead)
    if end < 0 or branch[end + 1 : end + 2] in ("?", "*", "{"):
        return [branch]
    inner = split_alternatives(branch[lead + 3 : end])
    if len(inner) == 1:
        return [branch]
    head, tail = branch[:lead], branch[end + 1 :]
    return [expanded for part in inner for expanded in _expand(f"{head}(?:{part}){tail}")]


def literal_prefix(branch: str) -> str:
    """The text every match of `branch` starts with (lower case), "" when none is certain."""
    index = _zero_width_lead(branch)
    while branch.startswith("(?:", index):
        index += 3
    prefix: list[str] = []
    while index < len(branch):
        char = branch[index]
        following = branch[index + 1 : index + 2]
        if char == "\\":
            escaped = following
            if not escaped or escaped.isalnum():  # \s, \w, \d, \b…: not a literal
                break
            if branch[index + 2 : index + 3] and branch[index + 2] in _QUANTIFIERS:
                break
            prefix.append(escaped)
            index += 2
            continue
        if char in _SPECIAL:
            break
        if following and following in _QUANTIFIERS:
            break
        prefix.append(char)
        if following == "+":
            break
        index += 1
    return "".join(prefix).lower()


def trie_pattern(words: set[str]) -> str:
    """A regular expression matching wherever any of `words` starts, written as a trie
    ("ab|ac|b" as "a[bc]|b") so that the engine tries a few branches per character rather than
    every word. A word that has a shorter word as its prefix adds nothing: the shorter one
    already marks the place."""
    root: dict[str, dict] = {}
    for word in sorted(words, key=len):
        node = root
        for char in word:
            if node.get("") is not None:  # a shorter word ends here
                break
            node = node.setdefault(char, {})
        else:
            node.clear()
            node[""] = {}

    def emit(node: dict[str, dict]) -> str:
        if "" in node:
            return ""
        leaves = sorted(char for char, child in node.items() if "" in child)
        branches = [
            re.escape(char) + emit(child) for char, child in sorted(node.items()) if "" not in child
        ]
        if len(leaves) == 1:
            branches.append(re.escape(leaves[0]))
        elif leaves:
            branches.append("[" + "".join(re.escape(char) for char in leaves) + "]")
        return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"

    return emit(root)


class PhraseSet:
    """A set of regular-expression alternatives, searched by their literal prefixes first.

    Behaves as `re.compile("|".join(patterns), flags)` for `search` and `finditer` (whose
    matches come in order of their start, possibly overlapping), case-insensitively on the
    prefixes.
    """

    def __init__(self, patterns: list[str], flags: int = re.IGNORECASE) -> None:
        led: list[str] = []
        prefixes: set[str] = set()
        other: list[str] = []
        for pattern in patterns:
            for part in split_alternatives(pattern):
                for branch in _expand(part):
                    prefix = literal_prefix(branch)
                    if len(prefix) >= _MIN_PREFIX:
                        led.append(branch)
                        prefixes.add(prefix)
                    else:
                        other.append(branch)
        self.pattern = "|".join(f"(?:{pattern})" for pattern in patterns)
        self._whole = re.compile(self.pattern, flags)
        self._gate = re.compile(trie_pattern(prefixes)) if led else None
        self._led = re.compile("|".join(f"(?:{branch})" for branch in led), flags)
        self._other = re.compile("|".join(f"(?:{b})" for b in other), flags) if other else None

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        lowered = text.lower()
        if len(lowered) != len(text):  # a few characters lengthen when lower-cased
            yield from self._whole.finditer(text)
            return
        found: list[re.Match[str]] = []
        if self._gate is not None:
            position = 0
            while (candidate := self._gate.search(lowered, position)) is not None:
                match = self._led.match(text, candidate.start())
                if match is not None:
                    found.append(match)
                position = candidate.start() + 1
        if self._other is not None:
            found.extend(self._other.finditer(text))
        found.sort(key=lambda match: match.start())
        yield from found

    def search(self, text: str) -> re.Match[str] | None:
        """A match (the first of the literal-led alternatives, else of the others)."""
        lowered = text.lower()
        if len(lowered) != len(text):
            return self._whole.search(text)
        if self._gate is not None:
            position = 0
            while (candidate := self._gate.search(lowered, position)) is not None:
                match = self._led.match(text, candidate.start())
                if match is not None:
                    return match
                position = candidate.start() + 1
        return self._other.search(text) if self._other is not None else None
