"""A column type that stores personal data encrypted and reads it back in clear.

The empty string stays empty (there is nothing personal in it, and a purged field reads as
blank); everything else is sealed with the process's newest data key. Encrypted values cannot
be compared in SQL — every ciphertext is different — so comparing such a column raises at once
instead of silently matching nothing: look phone numbers up by their blind index.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from jiesu.privacy.keys import active_keyring


class Encrypted(TypeDecorator[str]):
    impl = Text
    cache_ok = True

    def __init__(self, column: str):
        super().__init__()
        # Bound into each ciphertext: a value moved to another column no longer decrypts.
        self.column = column

    class comparator_factory(TypeDecorator.Comparator[str]):
        def operate(self, op: Any, *other: Any, **kwargs: Any) -> Any:
            raise TypeError(
                "an encrypted column cannot be compared or sorted in SQL; "
                "look phone numbers up by Contact.phone_hash (privacy.contacts.phone_is)"
            )

        def reverse_operate(self, op: Any, other: Any, **kwargs: Any) -> Any:
            return self.operate(op, other)

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        if not value:
            return value
        return active_keyring().encrypt(value, column=self.column)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        if not value:
            return value
        return active_keyring().decrypt(value, column=self.column)
