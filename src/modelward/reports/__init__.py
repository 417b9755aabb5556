"""Self-contained HTML reports: Jinja2 pages with matplotlib figures embedded as PNG.

Every report (data validation, evaluation, validation, model card) is a :class:`Document`:
a title and sections of blocks (text, table, image). One template renders them all, with
the figures inlined as ``data:`` URIs, so a report is one file that works offline.
"""

from modelward.reports.document import Document, Section, figure_uri, write_html

__all__ = ["Document", "Section", "figure_uri", "write_html"]
