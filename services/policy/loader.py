"""Read a policy file into the validated :class:`schemas.policy.Policy` model."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from schemas.policy import Policy


class PolicyFileError(ValueError):
    """The policy file cannot be used; the message names the file and what is wrong."""


def load_policy(path: Path) -> Policy:
    """Load and validate ``path``; raise :class:`PolicyFileError` with a readable reason."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyFileError(f"{path}: cannot read policy file ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise PolicyFileError(f"{path}: not UTF-8 text (invalid byte at position {exc.start})") from exc
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise PolicyFileError(f"{path}{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from exc
    if not isinstance(document, dict):
        raise PolicyFileError(f"{path}: a policy file must be a mapping at the top level")
    try:
        return Policy.model_validate(document)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top level)'}: {err['msg']}" for err in exc.errors()
        )
        raise PolicyFileError(f"{path}: {problems}") from exc
