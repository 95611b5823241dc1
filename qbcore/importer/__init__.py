"""CSV import of a real book, one file per entity that has one: validate all, then write all."""

from qbcore.importer.layout import (
    COLUMNS,
    FILE_LABELS,
    FILE_ROWS,
    LAYOUT_HEADER,
    TEMPLATE_NAMES,
    FileKind,
    column_names,
    layout_rows,
    template_csv,
)
from qbcore.importer.load import (
    MAX_ERRORS,
    ImportResult,
    KindSummary,
    import_files,
    validate_files,
)
from qbcore.importer.parse import parse_csv
from qbcore.importer.rows import RowError

__all__ = [
    "COLUMNS",
    "FILE_LABELS",
    "FILE_ROWS",
    "LAYOUT_HEADER",
    "MAX_ERRORS",
    "TEMPLATE_NAMES",
    "FileKind",
    "ImportResult",
    "KindSummary",
    "RowError",
    "column_names",
    "import_files",
    "layout_rows",
    "parse_csv",
    "template_csv",
    "validate_files",
]
