"""Report declarations: one module per report, each defining ``REPORT = ReportSpec(...)``.

Every module here is discovered by :func:`salesml.reports.list_reports`; see
:mod:`salesml.reports` for the recipe.
"""
