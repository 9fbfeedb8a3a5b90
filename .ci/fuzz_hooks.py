"""Schemathesis hooks for .ci/fuzz (SCHEMATHESIS_HOOKS).

No failure is filtered: every one fails the run.
"""

import ast
import threading
from typing import Any

# Not an API failure: CPython 3.11's parser is not thread-safe, and Hypothesis parses the
# source of a lambda to describe it, from each of the fuzzer's worker threads at once
# ("SystemError: AST constructor recursion depth mismatch" in the coverage phase, now and
# then). One parse at a time, in this process only.
_parse = ast.parse
_parsing = threading.Lock()


def _one_parse_at_a_time(*args: Any, **kwargs: Any) -> Any:
    with _parsing:
        return _parse(*args, **kwargs)


ast.parse = _one_parse_at_a_time  # type: ignore[assignment]
