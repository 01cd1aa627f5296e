"""The one exception hierarchy: every error this project raises on purpose is a :class:`LineageError`.

Each also keeps the built-in base it had (``ValueError`` for bad input or configuration, ``RuntimeError``
for something unavailable), so callers that catch those keep working. No message of any of them holds input
values or personal data: they are logged and shown as they are.
"""

from __future__ import annotations


class LineageError(Exception):
    """Base of every purpose-lineage error."""


class OutputFailed(LineageError, RuntimeError):
    """A role's output (the broker, the store) did not acknowledge a batch; the batch is retried, not lost.

    The message says what failed in terms safe to log: an error code and name, a column, an exception type.
    """
