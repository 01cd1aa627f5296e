"""Read a policy file into the validated :class:`schemas.policy.Policy` model.

Every refusal names the file, the line and the reason, so a policy author can fix it without reading code.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from schemas.policy import Policy
from services.errors import LineageError

_PATH_IN_MESSAGE = re.compile(r"^(?:Value error, )?([A-Za-z0-9_.-]+): ")


class _Loader(yaml.SafeLoader):
    """Safe YAML in which dates stay text: pydantic parses them and reports a bad one with its path and line."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class PolicyFileError(LineageError, ValueError):
    """The policy file cannot be used; the message names the file, the line and what is wrong."""


def _lines(node: yaml.Node, path: tuple[str, ...], lines: dict[tuple[str, ...], int], source: str) -> None:
    """Record the line of every mapping key and list entry; refuse duplicate keys (YAML would keep the last)."""
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in seen:
                where = ".".join((*path, key))
                raise PolicyFileError(f"{source}:{line}: duplicate key '{where}' (first defined on line {seen[key]})")
            seen[key] = line
            lines[(*path, key)] = line
            _lines(value_node, (*path, key), lines, source)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*path, str(index))] = item.start_mark.line + 1
            _lines(item, (*path, str(index)), lines, source)


def _line_of(path: tuple[str, ...], lines: dict[tuple[str, ...], int]) -> int | None:
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return None


def _describe(error: Any, lines: dict[tuple[str, ...], int], source: str) -> str:
    path = tuple(str(part) for part in error["loc"])
    message = str(error["msg"])
    if not path:  # a cross-reference check: its message starts with the path it is about
        match = _PATH_IN_MESSAGE.match(message)
        if match:
            path = tuple(match.group(1).split("."))
            message = message[match.end() :]
        message = message.removeprefix("Value error, ")
        line = _line_of(path, lines)
        where = ".".join(path) or "(top level)"
    else:
        line = _line_of(path, lines)
        where = ".".join(path)
    return f"{source}:{line if line is not None else 1}: {where}: {message}"


def load_policy(path: Path) -> Policy:
    """Load and validate ``path``; raise :class:`PolicyFileError` with file, line and reason."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyFileError(f"{path}: cannot read policy file ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise PolicyFileError(f"{path}: not UTF-8 text (invalid byte at position {exc.start})") from exc
    try:
        root = yaml.compose(text, Loader=_Loader)
        document = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise PolicyFileError(f"{path}{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from exc
    if root is None or not isinstance(document, dict):
        raise PolicyFileError(f"{path}: a policy file must be a mapping at the top level")
    lines: dict[tuple[str, ...], int] = {}
    _lines(root, (), lines, str(path))
    try:
        return Policy.model_validate(document)
    except ValidationError as exc:
        problems = "; ".join(_describe(err, lines, str(path)) for err in exc.errors(include_url=False))
        raise PolicyFileError(problems) from exc
