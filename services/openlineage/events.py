"""Pure builders of the OpenLineage run events of the pipeline's jobs.

Every event names its job's inputs and outputs, so a consumer draws the graph from any one of them. RUNNING
events add what the job saw since the previous one: a ``purposeLineage`` run facet with the job's totals, the
same facet on each dataset with that dataset's share, and ``columnLineage`` on each tagged topic.

Only field paths, policy names, reasons and counts go into an event: never a field value, never a subject id.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    DatasetFacet,
    JobFacet,
    RunFacet,
    column_lineage_dataset,
    documentation_job,
    error_message_run,
    job_type_job,
)

from services.openlineage.facet import FACET_NAME, PurposeLineageFacet
from services.openlineage.layout import DatasetRef, JobSpec, PipelineLayout
from services.openlineage.tally import Tally, merged

ENVELOPE_FIELDS = ("event_id", "kind", "kind_version", "occurred_at", "tenant_id", "source_service", "subject.type")
"""Fields a tagged record copies from its collection event (``services.stages.messages.tagged_document``)."""
SUBJECT_ID = "subject.id"
SUBJECT_PSEUDONYM = "subject.pseudonym"
"""Where the tagged document carries the pseudonym (the store's ``subject_pseudonym`` column)."""

ColumnLineage = column_lineage_dataset.ColumnLineageDatasetFacet
Fields = column_lineage_dataset.Fields
InputField = column_lineage_dataset.InputField
Transformation = column_lineage_dataset.Transformation

_COPY = Transformation(type="DIRECT", subtype="IDENTITY", masking=False)
_PSEUDONYMIZE = Transformation(
    type="DIRECT", subtype="TRANSFORMATION", description="keyed HMAC-SHA256 pseudonym", masking=True
)

DatasetFacets = Mapping[DatasetRef, Mapping[str, DatasetFacet]]


def purpose_facet(tally: Tally, policy_id: str, producer: str) -> PurposeLineageFacet:
    """The ``purposeLineage`` facet of a tally; lists are sorted so that equal tallies give equal facets."""
    return PurposeLineageFacet(
        policyId=policy_id,
        policyVersions=sorted(tally.policy_versions),
        purposes=sorted(tally.purposes),
        legalBases=sorted(tally.legal_bases),
        dataCategories=sorted(tally.data_categories),
        records=tally.records,
        removedFields=dict(sorted(tally.removed_by_reason.items())),
        deadLetters=dict(sorted(tally.dead_letters.items())),
        violations=dict(sorted(tally.violations.items())),
        producer=producer,
    )


def column_lineage_facet(source: DatasetRef, tally: Tally, producer: str) -> ColumnLineage:
    """Column lineage of a tagged topic from its collection topic.

    Kept fields and the envelope are copies (DIRECT/IDENTITY); the pseudonym is a keyed HMAC of the subject id
    (DIRECT/TRANSFORMATION, masking). A removed field has no output field to hang on, so it is listed in the
    facet's dataset-level ``dataset`` inputs (columnLineage 1-2-0): INDIRECT/FILTER, masking, the reason in
    the description. That is the closest the facet comes to "this input field was read and dropped": the
    output depends on it only in that it is absent, and masking says that nothing of its value survives.
    """

    def source_field(path: str, transformation: Transformation) -> InputField:
        return InputField(namespace=source.namespace, name=source.name, field=path, transformations=[transformation])

    fields = {
        path: Fields(inputFields=[source_field(path, _COPY)]) for path in (*ENVELOPE_FIELDS, *tally.kept_fields())
    }
    fields[SUBJECT_PSEUDONYM] = Fields(inputFields=[source_field(SUBJECT_ID, _PSEUDONYMIZE)])
    removed = [
        source_field(
            path, Transformation(type="INDIRECT", subtype="FILTER", description=f"removed: {reason}", masking=True)
        )
        for path, reason in sorted(tally.removed_fields)
    ]
    return ColumnLineage(fields=fields, dataset=removed, producer=producer)


def error_facet(message: str, producer: str) -> error_message_run.ErrorMessageRunFacet:
    """The FAIL event's error: the message only, no stack trace (frames can hold input values)."""
    return error_message_run.ErrorMessageRunFacet(message=message, programmingLanguage="python", producer=producer)


def job_of(spec: JobSpec, namespace: str, producer: str) -> Job:
    facets: dict[str, JobFacet] = {
        "jobType": job_type_job.JobTypeJobFacet(
            processingType="STREAMING", integration="FAUST", jobType="AGENT", producer=producer
        ),
        "documentation": documentation_job.DocumentationJobFacet(description=spec.description, producer=producer),
    }
    return Job(namespace=namespace, name=spec.name.value, facets=facets)


def run_event(
    event_type: RunState,
    spec: JobSpec,
    namespace: str,
    run_id: str,
    at: datetime,
    producer: str,
    *,
    run_facets: Mapping[str, RunFacet] | None = None,
    dataset_facets: DatasetFacets | None = None,
) -> RunEvent:
    """One run event of ``spec``'s job, with its inputs and outputs and any facets given for them."""
    per_dataset = dataset_facets or {}
    return RunEvent(
        eventType=event_type,
        eventTime=at.isoformat(),
        run=Run(runId=run_id, facets=dict(run_facets or {})),
        job=job_of(spec, namespace, producer),
        inputs=[InputDataset(d.namespace, d.name, facets=dict(per_dataset.get(d, {}))) for d in spec.inputs],
        outputs=[OutputDataset(d.namespace, d.name, facets=dict(per_dataset.get(d, {}))) for d in spec.outputs],
        producer=producer,
    )


def running_event(
    spec: JobSpec,
    layout: PipelineLayout,
    run_id: str,
    at: datetime,
    tallies: Mapping[DatasetRef, Tally],
    policy_id: str,
    producer: str,
) -> RunEvent:
    """The RUNNING event of a job that saw ``tallies`` (dataset -> what it saw there) since its previous one."""
    dataset_facets: dict[DatasetRef, dict[str, DatasetFacet]] = {}
    for ref, tally in tallies.items():
        facets: dict[str, DatasetFacet] = {FACET_NAME: purpose_facet(tally, policy_id, producer)}
        source = layout.derived_from.get(ref)
        if source is not None:
            facets["columnLineage"] = column_lineage_facet(source, tally, producer)
        dataset_facets[ref] = facets
    total = purpose_facet(merged(tallies.values()), policy_id, producer)
    return run_event(
        RunState.RUNNING,
        spec,
        layout.namespace,
        run_id,
        at,
        producer,
        run_facets={FACET_NAME: total},
        dataset_facets=dataset_facets,
    )
