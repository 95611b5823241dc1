"""Vendor routing: whom a settlement is billed to in QuickBooks, and how it splits when several fleet owners share it.

Pure: it reads a settlement with its loads (and their trucks' owners) and deductions, and returns its shares.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from qbcore.errors import MappingError

# Settings → Vendor routing: bill the driver; bill each fleet owner whose trucks ran the loads (one bill per owner);
# or both ways, as PortPro offers: the fleet owner when one owner's trucks ran every load, the driver otherwise.
ROUTINGS = ("driver", "fleet_owner", "both")
DOC_NUMBER_MAX = 21  # QuickBooks' bill number


@dataclass(frozen=True)
class Share:
    """One bill of a settlement: its payee, the loads it pays and the deductions it carries."""

    position: int
    payee_id: int
    loads: tuple[Any, ...]
    deductions: tuple[Any, ...]

    @property
    def pay_total(self) -> Decimal:
        """The pay of its loads."""
        return sum((Decimal(line.amount) for load in self.loads for line in load.lines), Decimal("0.00"))

    @property
    def deduction_total(self) -> Decimal:
        """The deductions it carries."""
        return sum((Decimal(d.amount) for d in self.deductions), Decimal("0.00"))

    @property
    def net_pay(self) -> Decimal:
        """What the bill owes: its pay less its deductions."""
        return self.pay_total - self.deduction_total


def truck_owner(settlement_load: Any) -> int | None:
    """Who owns the truck a load ran on (None when billing does not say)."""
    truck = getattr(settlement_load, "truck", None)
    return getattr(truck, "owner_id", None) if truck is not None else None


def routed_payees(settlement: Any, routing: str) -> list[int]:
    """The payees a routing bills a settlement to, share 1 first (the owner of most pay, then the first load's)."""
    if routing not in ROUTINGS:
        raise MappingError(f"Vendor routing {routing!r} is not one of {', '.join(ROUTINGS)}.")
    owners: dict[int, Decimal] = {}
    for load in settlement.loads:
        owner = truck_owner(load)
        if owner is not None:
            owners[owner] = owners.get(owner, Decimal(0)) + sum((Decimal(line.amount) for line in load.lines),
                                                                Decimal(0))
    if routing == "driver" or not owners:
        return [settlement.driver_id]
    if routing == "both":
        return [next(iter(owners))] if len(owners) == 1 else [settlement.driver_id]
    first_seen = list(owners)
    return sorted(owners, key=lambda owner: (-owners[owner], first_seen.index(owner)))


def split_settlement(settlement: Any, payees: Sequence[int]) -> list[Share]:
    """The settlement's shares for these payees: each load to its truck's owner, the rest to share 1.

    A deduction tied to a truck (its chassis, its insurance) goes with that truck's owner; the driver's own
    deductions (fuel advances, escrow) go to share 1, the payee with the most pay.
    """
    if not payees:
        raise MappingError(f"Settlement {settlement.number} has no payee to bill.")
    loads: dict[int, list[Any]] = {payee: [] for payee in payees}
    first = payees[0]
    truck_owners: dict[int, int] = {}
    for load in settlement.loads:
        owner = truck_owner(load)
        if owner is not None:
            truck_owners[load.truck_id] = owner
        loads[owner if owner in loads else first].append(load)
    deductions: dict[int, list[Any]] = {payee: [] for payee in payees}
    for deduction in settlement.deductions:
        owner = truck_owners.get(deduction.truck_id) if deduction.truck_id is not None else None
        deductions[owner if owner in deductions else first].append(deduction)
    return [Share(position, payee, tuple(loads[payee]), tuple(deductions[payee]))
            for position, payee in enumerate(payees, start=1)]


def share_number(number: str, position: int) -> str:
    """A share's bill number: the settlement's for share 1, "<number>-2", "-3"… for the others."""
    if position == 1:
        return number
    suffix = f"-{position}"
    if len(number) + len(suffix) > DOC_NUMBER_MAX:
        raise MappingError(f"Settlement {number} splits into {position} bills, but '{number}{suffix}' is longer "
                           f"than QuickBooks' {DOC_NUMBER_MAX}-character bill number. Shorten the settlement "
                           "number in billing, then resync.")
    return number + suffix
