"""Batch: up to 30 independent operations in order, later items blind to rows made earlier in the batch."""

from __future__ import annotations

from qbo_sandbox import faults
from qbo_sandbox.faults import QboFault
from qbo_sandbox.operations import Operations
from qbo_sandbox.schema import ENTITIES
from qbo_sandbox.store import JsonDict


class BatchMixin(Operations):
    """The /batch endpoint."""

    def batch(self, items: object) -> list[JsonDict]:
        if not isinstance(items, list):
            raise faults.required("BatchItemRequest")
        if len(items) > 30:
            raise QboFault(
                "1040",
                "Batch size exceeds allowed limit",
                f"Batch size exceeds allowed limit. Max allowed: 30, supplied: {len(items)}",
                element="",
            )
        responses = []
        self._batch_created = set()
        try:
            for item in items:
                bid = item.get("bId") if isinstance(item, dict) else None
                try:
                    result = self._batch_item(item)
                except QboFault as fault:
                    responses.append({"Fault": fault.fault_dict(), "bId": bid})
                    continue
                responses.append({**result, "bId": bid})
                entity, row = next(iter(result.items()))
                if isinstance(item, dict) and (item.get("operation") or "create") == "create" and "Id" in row:
                    self._batch_created.add((entity, row["Id"]))
        finally:
            self._batch_created = set()
        return responses

    def _batch_item(self, item: object) -> JsonDict:
        if not isinstance(item, dict):
            raise faults.required("BatchItemRequest")
        if "Query" in item:
            return {"QueryResponse": self.query(str(item["Query"]))}
        entity_keys = [k for k in item if k.lower() in ENTITIES]
        if len(entity_keys) != 1:
            unknown = [k for k in item if k not in ("bId", "operation", "optionsData")]
            raise faults.unsupported(f"Operation {', '.join(unknown) or 'batch item'} is not supported.")
        entity = ENTITIES[entity_keys[0].lower()]
        operation = (item.get("operation") or "create").lower()
        options = str(item.get("optionsData") or "").lower()
        if operation == "update" and options == "void":
            result = self.void(entity, item[entity_keys[0]])
        else:
            result = self.write(entity, item[entity_keys[0]], operation=operation)
        return {entity: result}

