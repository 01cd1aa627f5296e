"""Turn validation errors into reasons that name the schema path and rule, never the input value."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

_SAFE_PART = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
# Context keys that carry schema constants (limits, expected literals), not input.
_SAFE_CONTEXT = ("expected", "min_length", "max_length", "ge", "gt", "le", "lt", "pattern")
_MAX_ERRORS = 5


def safe_name(name: int | str) -> str:
    """A key name as it may be shown: schema-like names as they are, anything else as '?'.

    A key name in the input could itself carry personal data (an e-mail address used as a key).
    """
    return str(name) if isinstance(name, int) or _SAFE_PART.match(name) else "?"


def _path(loc: tuple[int | str, ...]) -> str:
    return ".".join(safe_name(p) for p in loc) or "(root)"


def describe_validation_error(exc: ValidationError | Sequence[Any], prefix: str = "") -> str:
    """``subject.id: string_too_short (min_length=1); ...`` for the first few errors (of an error or its list)."""
    described: list[str] = []
    errors = exc.errors(include_url=False, include_input=False) if isinstance(exc, ValidationError) else exc
    for err in errors[:_MAX_ERRORS]:
        context = err.get("ctx") or {}
        details = ", ".join(f"{k}={context[k]}" for k in _SAFE_CONTEXT if k in context)
        path = _path(tuple(err["loc"]))
        described.append(f"{prefix}{path}: {err['type']}" + (f" ({details})" if details else ""))
    if len(errors) > _MAX_ERRORS:
        described.append(f"and {len(errors) - _MAX_ERRORS} more")
    return "; ".join(described)
