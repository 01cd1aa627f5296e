"""The `purpose-lineage` command."""
