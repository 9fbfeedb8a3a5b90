"""Re-encrypting every secret at rest under the newest of REACHKIT_ENCRYPTION_KEYS.

Key rotation: put a new key in front of REACHKIT_ENCRYPTION_KEYS, restart, run
`manage.py rotate_encryption_keys`, then drop the old key. The columns are found through
the app registry (every `EncryptedTextField` of every model), so a secret added later is
rotated without touching this module. Ciphertext is read and written as it is stored,
with SQL of its own: the field would decrypt on read and encrypt again on write.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from cryptography.fernet import InvalidToken
from django.apps import apps
from django.db import connection, models, transaction

from reachkit.crypto import EncryptedTextField, is_under_newest_key, reencrypt

DEFAULT_BATCH_SIZE = 500


@dataclass
class ColumnCounts:
    reencrypted: int = 0
    current: int = 0
    unreadable: int = 0


@dataclass
class RotationReport:
    columns: dict[str, ColumnCounts] = field(default_factory=dict)

    @property
    def reencrypted(self) -> int:
        return sum(counts.reencrypted for counts in self.columns.values())

    @property
    def current(self) -> int:
        return sum(counts.current for counts in self.columns.values())

    @property
    def unreadable(self) -> int:
        return sum(counts.unreadable for counts in self.columns.values())


def encrypted_columns() -> Iterator[tuple[type[models.Model], EncryptedTextField]]:
    """Every (model, field) that stores a secret, in a stable order."""
    for model in sorted(apps.get_models(), key=lambda model: model._meta.label):
        if model._meta.proxy or not model._meta.managed:
            continue
        for model_field in model._meta.concrete_fields:
            if isinstance(model_field, EncryptedTextField):
                yield model, model_field


def rotate_encryption_keys(*, batch_size: int = DEFAULT_BATCH_SIZE) -> RotationReport:
    report = RotationReport()
    for model, model_field in encrypted_columns():
        label = f"{model._meta.label}.{model_field.name}"
        report.columns[label] = _rotate_column(model, model_field, batch_size)
    return report


def _rotate_column(
    model: type[models.Model], model_field: EncryptedTextField, batch_size: int
) -> ColumnCounts:
    """Walk the table by primary key, one batch per transaction."""
    quote = connection.ops.quote_name
    primary_key = model._meta.pk
    assert primary_key is not None
    table = quote(model._meta.db_table)
    pk = quote(str(primary_key.column))
    column = quote(str(model_field.column))
    counts = ColumnCounts()
    last_pk: Any = None
    while True:
        where = f"{column} IS NOT NULL AND {column} <> ''"
        params: list[Any] = []
        if last_pk is not None:
            where += f" AND {pk} > %s"
            params.append(last_pk)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {pk}, {column} FROM {table} WHERE {where} ORDER BY {pk} LIMIT %s",
                [*params, batch_size],
            )
            rows = cursor.fetchall()
            for row_pk, token in rows:
                if is_under_newest_key(token):
                    counts.current += 1
                    continue
                try:
                    fresh = reencrypt(token)
                except InvalidToken:
                    counts.unreadable += 1
                    continue
                # Only if unchanged since read: a concurrent write is already current.
                cursor.execute(
                    f"UPDATE {table} SET {column} = %s WHERE {pk} = %s AND {column} = %s",
                    [fresh, row_pk, token],
                )
                counts.reencrypted += cursor.rowcount
        if len(rows) < batch_size:
            return counts
        last_pk = rows[-1][0]
