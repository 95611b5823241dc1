"""Reads across rows: the query language, includes, exchange rates and change data capture."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from qbo_sandbox import faults, query, reference_data
from qbo_sandbox.attachments import Attachments
from qbo_sandbox.faults import invalid_property
from qbo_sandbox.records import CompanyCore
from qbo_sandbox.schema import DEFAULT_ORDER, ENTITIES, NAME_LISTS
from qbo_sandbox.store import JsonDict
from qbo_sandbox.values import company_today, get_path, parse_date


def _changed_at(row: JsonDict) -> datetime:
    """When a row or tombstone last changed (every stamp the sandbox writes parses)."""
    return query.parse_moment(row["MetaData"]["LastUpdatedTime"]) or datetime.min.replace(tzinfo=UTC)


class QueriesMixin(CompanyCore):
    """Queries and CDC over one realm."""

    def resolve_entity(self, name: str) -> str:
        entity = ENTITIES.get(name.lower())
        if entity is None:
            raise faults.query_invalid(f"invalid context declaration: {name}")
        return entity

    def query(self, text: str, include: str = "") -> JsonDict:
        parsed = query.parse(text)
        entity = self.resolve_entity(parsed.entity)
        rows = list(self.realm.table(entity).values())
        if entity in NAME_LISTS and not parsed.filters_field("Active"):
            rows = [row for row in rows if row.get("Active", True) is not False]
        order = "Id" if parsed.picks_ids() else DEFAULT_ORDER.get(entity, "Id")
        page, total = query.evaluate(parsed, rows, order)
        if parsed.count:
            return {"totalCount": total}
        if not page:
            return {}
        if entity == "Attachable":
            attachments = Attachments(self)
            page = [attachments.with_download_link(row, self.base_url) for row in page]
        elif include:
            page = [self._with_includes(entity, row, include) for row in page]
        return {entity: page, "startPosition": parsed.start_position, "maxResults": len(page)}

    def exchange_rate(self, source: str, as_of: str | None) -> JsonDict:
        """GET /exchangerate?sourcecurrencycode=…[&asofdate=…]: the rate in force on that date."""
        if not self.preferences().get("CurrencyPrefs", {}).get("MultiCurrencyEnabled"):
            raise faults.business("Multicurrency is not enabled for this company.")
        if not source:
            raise faults.required("sourcecurrencycode")
        day = parse_date(as_of, "asofdate").isoformat() if as_of else company_today().isoformat()
        rate = reference_data.best_rate(list(self.realm.table("ExchangeRate").values()), source, day)
        if rate is None:
            raise faults.not_found()
        return rate

    def cdc(self, entities: str, changed_since: str, limit: int = 1000) -> list[JsonDict]:
        since = query.parse_moment(changed_since or "")
        if not changed_since:
            raise faults.required("changedSince")
        if since is None:
            raise invalid_property(
                f"Property Name:changedSince {changed_since} specified is unsupported or invalid",
                element="changedSince",
            )
        names = [self.resolve_entity(name.strip()) for name in (entities or "").split(",") if name.strip()]
        if not names:
            raise faults.required("entities")
        results, budget = [], limit
        for entity in names:
            changed = [
                r
                for r in self.realm.table(entity).values()
                if _changed_at(r) >= since
            ]
            changed.sort(key=_changed_at)
            gone = [
                t
                for t in self.realm.deleted.get(entity, {}).values()
                if _changed_at(t) >= since
            ]
            gone.sort(key=_changed_at)
            objects = (changed + gone)[: max(budget, 0)]
            budget -= len(objects)
            if objects:
                group = {entity: objects, "startPosition": 1, "maxResults": len(objects)}
                if any(obj.get("status") == "Deleted" for obj in objects):
                    # Intuit's documented sample carries totalCount only on the group holding tombstones.
                    group["totalCount"] = len(objects)
                results.append(group)
            else:
                results.append({})
        return [{"QueryResponse": results}]

    def _with_includes(self, entity: str, row: JsonDict, include: str) -> JsonDict:
        """`include=invoiceLink`: an invoice that can be paid online and has a billing email gets its link."""
        if entity != "Invoice" or "invoicelink" not in include.lower():
            return row
        online = row.get("AllowOnlineCreditCardPayment") or row.get("AllowOnlineACHPayment")
        if not online or not get_path(row, "BillEmail.Address"):
            return row
        token = hashlib.sha256(f"{self.realm.realm_id}/{row['Id']}".encode()).hexdigest()[:32]
        # The shape Intuit's sandbox answers (its payment page is not served there); no one fetches it.
        return {**row, "InvoiceLink": f"https://developer.intuit.com/comingSoonview/scs-v1-{token}?locale=EN_US"}

