"""`field__any_of=[…]`: membership in a long list of strings, as one parameter on PostgreSQL.

`field__in=[…]` prepares, sends and quotes one placeholder per value; with thousands of
values (an import's batch) that costs more than running the query. On PostgreSQL this is
`field = ANY(string_to_array(%s, E'\\n'))` with the values joined in one string; elsewhere,
or when a value holds a newline, it is the plain IN. For text columns (emails, domains).
Register it on the fields that need it: `Model._meta.get_field(name).register_lookup(AnyOf)`.
"""

from typing import Any

from django.db.models.lookups import In


class AnyOf(In):
    lookup_name = "any_of"

    def get_prep_lookup(self) -> Any:
        if self.rhs_is_direct_value():
            return [value for value in self.rhs if value is not None]
        return super().get_prep_lookup()

    def as_postgresql(self, compiler: Any, connection: Any) -> tuple[str, Any]:
        values = self.rhs
        joined = "\n".join(values) if self.rhs_is_direct_value() else None
        if joined is None or not values or joined.count("\n") != len(values) - 1:
            return self.as_sql(compiler, connection)
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(string_to_array(%s, E'\\n'))", [*lhs_params, joined]
