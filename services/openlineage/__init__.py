"""The pipeline's jobs and datasets as OpenLineage run events.

``build_client`` makes a client from settings (or None: then nothing is observed), ``pipeline_layout`` names the
jobs and datasets, and ``LineageObserver`` counts what the agents see and emits it. The custom facet's schema is
``schemas/openlineage/PurposeLineageFacet.json``.
"""
