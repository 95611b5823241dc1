"""Pure ordering: which records sync in which phase, so every dependency goes first."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from qbcore.entities.registry import ENTITIES
from qbcore.models import EntityType

# The registry lists entities in dependency order; customers come first and are split by nesting level.
ORDER: tuple[EntityType, ...] = tuple(spec.entity_type for spec in ENTITIES)


@dataclass(frozen=True)
class Phase:
    """Records of one entity type (and, for customers, one nesting level) pushed together."""

    entity_type: EntityType
    record_ids: tuple[int, ...]
    level: int = 0


def customer_levels(parents: Mapping[int, int | None]) -> dict[int, int]:
    """Nesting depth of each customer (0 = top level); a parent always has a lower depth than its jobs."""
    levels: dict[int, int] = {}

    def depth(customer_id: int, seen: frozenset[int] = frozenset()) -> int:
        if customer_id in levels:
            return levels[customer_id]
        parent = parents.get(customer_id)
        # A parent outside the selection (or a loop) counts as already synced.
        level = 0 if parent is None or parent not in parents or parent in seen else \
            depth(parent, seen | {customer_id}) + 1
        levels[customer_id] = level
        return level

    for customer_id in parents:
        depth(customer_id)
    return levels


def plan_sync(records: Iterable[tuple[int, EntityType, int]], customer_parents: Mapping[int, int | None]
              ) -> list[Phase]:
    """Phases in dependency order from (record id, entity type, billing id) triples."""
    by_type: dict[EntityType, list[tuple[int, int]]] = {t: [] for t in ORDER}
    for record_id, entity_type, entity_id in records:
        by_type[EntityType(entity_type)].append((record_id, entity_id))
    phases: list[Phase] = []
    levels = customer_levels(customer_parents)
    customers = by_type[EntityType.CUSTOMER]
    for level in sorted({levels.get(eid, 0) for _, eid in customers}):
        ids = tuple(sorted(rid for rid, eid in customers if levels.get(eid, 0) == level))
        phases.append(Phase(EntityType.CUSTOMER, ids, level))
    for entity_type in (t for t in ORDER if t is not EntityType.CUSTOMER):
        if by_type[entity_type]:
            phases.append(Phase(entity_type, tuple(sorted(rid for rid, _ in by_type[entity_type]))))
    return phases
