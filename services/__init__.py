"""purpose-lineage runtime: processors, sink, API and CLI."""
