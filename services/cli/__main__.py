"""`python -m services.cli` is the same as `purpose-lineage`."""

from services.cli.main import main

main()
