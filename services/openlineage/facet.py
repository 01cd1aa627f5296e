"""The ``purposeLineage`` custom facet: what a job saw under the policy, as names and counts only.

Its JSON Schema ships at ``schemas/openlineage/PurposeLineageFacet.json``; ``_schemaURL`` names that file under
a versioned URL, as OpenLineage's own facets do, so a consumer can tell facet versions apart. Bump the version
segment (``1-0-0``) with any change to the fields.
"""

from __future__ import annotations

import attr
from openlineage.client.facet_v2 import DatasetFacet, RunFacet

FACET_NAME = "purposeLineage"
SCHEMA_VERSION = "1-0-0"
SCHEMA_URL = (
    f"https://purpose-lineage.dev/spec/facets/{SCHEMA_VERSION}/PurposeLineageFacet.json#/$defs/PurposeLineageFacet"
)
PRODUCER = "https://purpose-lineage.dev/purpose-lineage"
"""Default ``producer`` / ``_producer`` URI of every event and facet this package builds."""


@attr.define
class PurposeLineageFacet(RunFacet, DatasetFacet):
    """Policy, purposes, legal bases and data categories a job saw, with counts; never a field value.

    Both a run facet (the job's totals) and a dataset facet (one dataset's share): the content is the same,
    only its scope differs, so one class and one schema serve both.
    """

    policyId: str
    policyVersions: list[str] = attr.field(factory=list)
    """Every policy version in force for the records counted."""
    purposes: list[str] = attr.field(factory=list)
    legalBases: list[str] = attr.field(factory=list)
    dataCategories: list[str] = attr.field(factory=list)
    records: int = 0
    """Records counted: tagged records, dead letters, stored rows or decided activity events."""
    removedFields: dict[str, int] = attr.field(factory=dict)
    """Removal reason (``not_allowed``, ``excluded_content``) -> fields removed."""
    deadLetters: dict[str, int] = attr.field(factory=dict)
    """Dead-letter reason -> events dead-lettered."""
    violations: dict[str, int] = attr.field(factory=dict)
    """Violation code -> violations found."""

    @staticmethod
    def _get_schema() -> str:
        return SCHEMA_URL
