"""Reading import files: each file's typed rows folded into records (pure), with the errors the files show alone."""

from __future__ import annotations

from collections.abc import Mapping

from qbcore.importer.files import FILES
from qbcore.importer.records import ImportBatch
from qbcore.importer.rows import FileKind, ParsedFile, RowError


def read_batch(parsed: Mapping[FileKind, ParsedFile]) -> tuple[ImportBatch, list[RowError]]:
    """Typed records from the parsed files, and every row error the files show on their own."""
    batch = ImportBatch()
    errors: list[RowError] = []
    for pf in parsed.values():
        errors.extend(pf.errors)
        batch.row_counts[pf.kind.value] = len(pf.rows)
    for rules in FILES:
        if rules.kind in parsed:
            rules.read(parsed[rules.kind], batch, errors)
    return batch, errors
