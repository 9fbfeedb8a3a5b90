"""`search_text__matches`: the lookup behind the lead list's `search`."""

from typing import Any

from django.db.models.lookups import Contains


class Matches(Contains):
    """The lower-cased term anywhere in the (lower-cased) column: `LIKE '%term%'`.

    Plain LIKE on one precomputed column, not UPPER() on four: cheaper per row, and the
    shape a trigram index (`gin (search_text gin_trgm_ops)`) serves, should a deployment
    with very large campaigns want one.
    """

    lookup_name = "matches"

    def get_prep_lookup(self) -> Any:
        return str(super().get_prep_lookup()).lower()

    def get_rhs_op(self, connection: Any, rhs: str) -> str:
        return str(connection.operators["contains"] % rhs)
