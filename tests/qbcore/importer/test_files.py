"""The importer's files: one module per entity's import file, and generic modules that name none of them."""

from __future__ import annotations

import io
import tokenize
from pathlib import Path

from qbcore.entities.registry import IMPORT_ENTITY, IMPORT_FILES
from qbcore.importer.files import FILES, KINDS
from qbcore.models import EntityType

IMPORTER = Path(__file__).resolve().parents[3] / "qbcore" / "importer"


def test_every_import_file_of_the_registry_has_one_module_in_file_order():
    assert [rules.kind.value for rules in FILES] == [f.kind for f in IMPORT_FILES]
    assert {path.stem for path in (IMPORTER / "files").glob("*.py")} - {"__init__"} == set(IMPORT_ENTITY)
    assert KINDS == ("customers", "charge_codes", "loads", "invoices", "payments", "credit_memos", "vendors",
                     "pay_codes", "deduction_codes", "trucks", "settlements", "carrier_bills")


def test_the_generic_importer_names_no_entity_of_a_file_but_the_customer_every_record_belongs_to():
    # Customers stay: every file's records name one (customer_code), and money goes only to the same customer's.
    words = {t.value for t in IMPORT_ENTITY.values() if t is not EntityType.CUSTOMER}
    named = {}
    for path in sorted(IMPORTER.glob("*.py")):
        tokens = tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline)
        names = {tok.string.lower() for tok in tokens if tok.type == tokenize.NAME}
        found = sorted(w for w in words if any(w in name for name in names))
        if found:
            named[path.name] = found
    assert named == {}
