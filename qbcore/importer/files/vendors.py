"""The vendors file: one row per driver, fleet owner or carrier, matched on its code; its roles say which."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from qbcore.chunks import SQL_IN_CHUNK, chunked
from qbcore.importer.bulk import insert_returning, update_by_id
from qbcore.importer.cells import read_row
from qbcore.importer.records import BookSnapshot, Fields, ImportBatch, Plan, Slot
from qbcore.importer.rows import Column, ColumnType, FileKind, ParsedFile, RowError
from qbcore.importer.rules import FileRules, Ids
from qbcore.models import Vendor

T, B = ColumnType.TEXT, ColumnType.BOOL
FIELDS = ("name", "company_name", "is_driver", "is_fleet_owner", "is_carrier", "is_1099", "terms", "email", "phone",
          "address_line1", "city", "state", "postal_code", "country", "mc_number", "dot_number", "active")
# The words a TMS export uses for a vendor's roles, and the role each sets.
ROLE_WORDS = {"driver": "is_driver", "owner operator": "is_driver", "owner-operator": "is_driver",
              "fleet owner": "is_fleet_owner", "fleet": "is_fleet_owner", "carrier": "is_carrier"}
ROLE_NAMES = {"is_driver": "driver", "is_fleet_owner": "fleet owner", "is_carrier": "carrier"}
_SEPARATORS = re.compile(r"\s*[;,/+&|]\s*|\s+and\s+")


@dataclass
class VendorRecord:
    """A vendor row of the vendors file."""

    code: str
    row: int
    fields: Fields


@dataclass
class ExistingVendor:
    """A vendor the book already has."""

    id: int
    fields: Fields


VENDORS: Slot[VendorRecord, ExistingVendor] = Slot("vendors")


def has_role(code: str, role: str, batch: ImportBatch, book: BookSnapshot) -> bool | None:
    """Whether a vendor (as the file has it, else the book) has a role; None when it is in neither."""
    record = batch.of(VENDORS).get(code)
    existing = book.of(VENDORS).get(code)
    fields = record.fields if record is not None else existing.fields if existing is not None else None
    return None if fields is None else bool(fields[role])


def vendor_error(kind: FileKind, row: int, column: str, code: str, role: str, what: str,
                 batch: ImportBatch, book: BookSnapshot, *roles: str) -> list[RowError]:
    """The error of a row naming a vendor that is nowhere, or lacks the role (any of `roles`) the row needs."""
    if code == "":  # a cell that did not read carries its own error
        return []
    found = [has_role(code, r, batch, book) for r in (role, *roles)]
    if found[0] is None:
        return [RowError(kind, row, column, (
            f"unknown vendor code {code}: it is neither in the book nor in the vendors file; add a row for it to "
            "vendors.csv."))]
    if not any(found):
        names = " or ".join(ROLE_NAMES[r] for r in (role, *roles))
        return [RowError(kind, row, column, (
            f"vendor {code} is not a {names}, so it cannot be {what}; add {ROLE_NAMES[role]} to its roles in "
            "vendors.csv."))]
    return []


def _read_roles(text: str | None) -> set[str] | str:
    """The role fields a roles cell sets, or the word that is not a role."""
    roles: set[str] = set()
    for word in _SEPARATORS.split((text or "").strip().lower()):
        if not word:
            continue
        role = ROLE_WORDS.get(word.replace("_", " "))
        if role is None:
            return word
        roles.add(role)
    return roles


class VendorsFile(FileRules):
    """Vendors: created or updated by code; a vendor's roles decide whose settlements and bills it may carry."""

    kind = FileKind.VENDORS
    slot = VENDORS
    tables = (Vendor,)
    columns = (
        Column("vendor_code", T, True, 32, "V0101", "The TMS's driver, owner or carrier code; the key an import "
               "matches on."),
        Column("name", T, True, 200, "Luis Ortega", "Display name (becomes the QuickBooks DisplayName)."),
        Column("company_name", T, False, 200, "", "The business name, for a fleet owner or carrier."),
        Column("roles", T, True, 60, "driver", "driver, fleet owner and/or carrier, separated by ; or , "
               "(a fleet owner who also drives: driver; fleet owner)."),
        Column("is_1099", B, False, None, "yes", "Paid as an independent contractor (QuickBooks' 1099 vendor); "
               "blank means yes."),
        Column("terms", T, False, 40, "Due on receipt", "A term QuickBooks has; blank means Due on receipt (Net 30 "
               "for a vendor that is only a carrier)."),
        Column("email_address", T, False, 200, "lortega@example.com", "Where settlement statements or remittances go."),
        Column("phone", T, False, 30, "(908) 555-0133"),
        Column("address_line1", T, False, 200, "55 Dock St"),
        Column("city", T, False, 100, "Elizabeth"),
        Column("state", T, False, 40, "NJ"),
        Column("postal_code", T, False, 20, "07201"),
        Column("country", T, False, 60, "USA", "Blank means USA."),
        Column("mc_number", T, False, 20, "", "A carrier's motor-carrier number."),
        Column("dot_number", T, False, 20, "", "A carrier's USDOT number."),
        Column("active", B, False, None, "yes", "yes/no, true/false, 1/0; blank means yes."),
    )

    def read(self, parsed: ParsedFile, batch: ImportBatch, errors: list[RowError]) -> None:
        """One record per code; a code twice, an unknown role word or no role at all is an error."""
        kind, vendors = parsed.kind, batch.of(VENDORS)
        for number, row in parsed.rows:
            values, failed = read_row(kind, self.columns, number, row, errors)
            code = values["vendor_code"]
            if code is None:
                continue  # nothing to match the row on; its cell error says why
            if code in vendors:
                errors.append(RowError(kind, number, "vendor_code", (
                    f"vendor code {code} appears twice in the file (first on row {vendors[code].row}).")))
                continue
            roles = _read_roles(values["roles"])
            if isinstance(roles, str):
                errors.append(RowError(kind, number, "roles", (
                    f"{roles!r} is not a role: write driver, fleet owner or carrier (several separated by ;).")))
                roles = set()
            elif not roles and "roles" not in failed:
                errors.append(RowError(kind, number, "roles", "roles names no role: write driver, fleet owner or "
                                       "carrier."))
            only_carrier = roles == {"is_carrier"}
            fields = {
                "name": values["name"], "company_name": values["company_name"],
                **{role: role in roles for role in ROLE_NAMES},
                "is_1099": True if values["is_1099"] is None else values["is_1099"],
                "terms": values["terms"] or ("Net 30" if only_carrier else "Due on receipt"),
                "email": values["email_address"], "phone": values["phone"], "address_line1": values["address_line1"],
                "city": values["city"], "state": values["state"], "postal_code": values["postal_code"],
                "country": values["country"] or "USA", "mc_number": values["mc_number"],
                "dot_number": values["dot_number"], "active": True if values["active"] is None else values["active"],
            }
            # A vendor with a cell error stays in the batch: rows of other files that name it are still checked.
            vendors[code] = VendorRecord(code, number, fields)

    def read_book(self, session: Session, batch: ImportBatch, book: BookSnapshot, named: set[str]) -> None:
        """The vendors of the file and those the other files name."""
        existing = book.of(VENDORS)
        for keys in chunked(sorted(set(batch.of(VENDORS)) | named), SQL_IN_CHUNK):
            rows = session.execute(select(Vendor.id, Vendor.code, *(getattr(Vendor, f) for f in FIELDS))
                                   .where(Vendor.code.in_(keys))).all()
            for row in rows:
                existing[row.code] = ExistingVendor(row.id, {f: getattr(row, f) for f in FIELDS})

    def plan(self, plan: Plan) -> None:
        """New codes are created; a changed field is an update."""
        existing = plan.book.of(VENDORS)
        for code, record in plan.batch.of(VENDORS).items():
            old = existing.get(code)
            if old is None:
                plan.create[VENDORS.name].append(code)
            elif old.fields != record.fields:
                plan.update[VENDORS.name].append(code)

    def write(self, plan: Plan, session: Session, ids: Ids, now: datetime) -> None:
        """New vendors, every column given (a bulk insert on PostgreSQL applies no defaults), then the updates."""
        batch = plan.batch.of(VENDORS)
        vendor_ids = ids[VENDORS.name] = {code: v.id for code, v in plan.book.of(VENDORS).items()}
        vendor_ids.update(insert_returning(session, Vendor, Vendor.code, [
            {"code": code, "qbo_display_name": None, **batch[code].fields, "updated_at": now}
            for code in plan.create[VENDORS.name]]))
        update_by_id(session, Vendor, [{"id": vendor_ids[code], **batch[code].fields, "updated_at": now}
                                       for code in plan.update[VENDORS.name]])


FILE = VendorsFile()
