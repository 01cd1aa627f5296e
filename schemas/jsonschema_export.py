"""The contracts as JSON Schema documents, for services that do not speak Python.

The pydantic models stay the single source of truth: every document here is generated from them, written to
``schemas/jsonschema/`` and checked for drift by ``make lint``. Each document carries a versioned ``$id`` so that a
consumer can pin the exact contract it validates against.

    python -m schemas.jsonschema_export [--check] [DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from schemas.activity import ConsentEvent, DisclosureEvent, RightsRequestEvent, UseEvent
from schemas.decisions import UseRequest, decision_schema
from schemas.events import PAYLOAD_MODELS, collection_model
from schemas.policy import Policy

SCHEMA_BASE_URL = "https://purpose-lineage.dev/schemas/"
DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_DIR = Path(__file__).resolve().parent / "jsonschema"
"""Where the generated documents live in the repository (``schemas/jsonschema``)."""
SUFFIX = ".schema.json"

# Contracts that are not collection events: (file stem, model). Collection kinds are added per payload version.
_MODELS: tuple[tuple[str, type[BaseModel]], ...] = (
    ("use.v1", UseEvent),
    ("disclosure.v1", DisclosureEvent),
    ("consent.v1", ConsentEvent),
    ("rights.v1", RightsRequestEvent),
    ("decision-request.v1", UseRequest),
    ("policy.v1", Policy),
)


def schema_file_name(stem: str) -> str:
    """``collection.access_log.v1`` -> ``collection.access_log.v1.schema.json``."""
    return f"{stem}{SUFFIX}"


def schema_id(file_name: str) -> str:
    """The versioned URL a document is published under; the version is part of the file name."""
    return f"{SCHEMA_BASE_URL}{file_name}"


def _document(file_name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"$schema": DIALECT, "$id": schema_id(file_name), **schema}


def export_schemas() -> dict[str, dict[str, Any]]:
    """Every contract as a JSON Schema document, by file name; the same output on every call."""
    documents: dict[str, dict[str, Any]] = {}
    for kind, version in sorted(PAYLOAD_MODELS, key=lambda key: (key[0].value, key[1])):
        name = schema_file_name(f"collection.{kind.value}.v{version}")
        # The parser reads strictly (JSON types, no coercion): the schema is the same contract.
        documents[name] = _document(name, collection_model(kind, version).model_json_schema())
    for stem, model in _MODELS:
        name = schema_file_name(stem)
        documents[name] = _document(name, model.model_json_schema())
    name = schema_file_name("decision.v1")
    documents[name] = _document(name, decision_schema())
    return dict(sorted(documents.items()))


def render(document: dict[str, Any]) -> str:
    """The bytes-stable text of a document: sorted keys, two-space indent, UTF-8, final newline."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _stale(directory: Path, expected: dict[str, dict[str, Any]]) -> list[Path]:
    # A document the code no longer generates (a removed kind or version) would otherwise stay published.
    return sorted(path for path in directory.glob(f"*{SUFFIX}") if path.name not in expected)


def write_schemas(directory: Path) -> list[Path]:
    """Write every document to ``directory`` and remove stale ones; return the paths written."""
    documents = export_schemas()
    directory.mkdir(parents=True, exist_ok=True)
    for path in _stale(directory, documents):
        path.unlink()
    written: list[Path] = []
    for name, document in documents.items():
        path = directory / name
        path.write_text(render(document), encoding="utf-8", newline="\n")
        written.append(path)
    return written


def check_schemas(directory: Path) -> list[str]:
    """Names of the files in ``directory`` that are missing, differ from the code's output, or are stale."""
    documents = export_schemas()
    drifted = [
        name
        for name, document in documents.items()
        if not (directory / name).is_file() or (directory / name).read_bytes() != render(document).encode("utf-8")
    ]
    drifted.extend(path.name for path in _stale(directory, documents))
    return sorted(drifted)


def main(argv: Sequence[str] | None = None) -> int:
    """Write the documents, or with ``--check`` exit 1 naming every drifted file."""
    parser = argparse.ArgumentParser(
        prog="python -m schemas.jsonschema_export", description="Export the contracts as JSON Schema."
    )
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if any file drifted")
    parser.add_argument("directory", nargs="?", type=Path, default=SCHEMA_DIR, help="default: schemas/jsonschema")
    args = parser.parse_args(argv)
    directory: Path = args.directory
    if args.check:
        drifted = check_schemas(directory)
        if drifted:
            print(f"JSON Schema drift in {directory} (run `make schemas`):", file=sys.stderr)
            for name in drifted:
                print(f"  {name}", file=sys.stderr)
            return 1
        print(f"{len(export_schemas())} JSON Schema documents in {directory} match the contracts")
        return 0
    written = write_schemas(directory)
    print(f"wrote {len(written)} JSON Schema documents to {directory}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
