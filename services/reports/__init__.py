"""The purpose-limitation report compliance staff hand to regulators, and the provision records.

:func:`services.reports.queries.build_report` reads a period through any lineage reader;
:func:`services.reports.render.render` turns the report into Markdown, HTML or JSON.
"""
