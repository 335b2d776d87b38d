"""Bulk export: a list call streamed to JSON Lines, CSV or Parquet, resumable, with progress.

- ``_run``: :func:`export`, the page loop and the final rename;
- ``_checkpoint``: the output's partial file and checkpoint, and how they are written;
- ``_tables``: CSV and Parquet built from the finished JSON Lines;
- ``_progress``: the progress snapshots, the summary, and a plain-text progress reporter.
"""

from ._checkpoint import Checkpoint, ExportFiles
from ._progress import ExportProgress, ExportSummary, PlainProgress, describe, format_seconds
from ._run import FORMATS, PARQUET_EXTRA, RESOURCES, ExportError, export, filters_of

__all__ = [
    "FORMATS",
    "PARQUET_EXTRA",
    "RESOURCES",
    "Checkpoint",
    "ExportError",
    "ExportFiles",
    "ExportProgress",
    "ExportSummary",
    "PlainProgress",
    "describe",
    "export",
    "filters_of",
    "format_seconds",
]
