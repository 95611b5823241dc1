"""The line Description: a charge's text plus the load fields chosen in the description template."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from qbcore.errors import MappingError
from qbcore.settings import DESCRIPTION_FIELDS, DescriptionTemplate

DESCRIPTION_MAX = 4000
TRUNCATED_MARKER = "… [truncated]"


def _format(value: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def render_description(load: Any, template: DescriptionTemplate) -> str:
    """The load's fields as the template says, e.g. 'Load #: L500001 | Container #: MSCU1234565'."""
    parts = []
    for name in template.fields:
        value = getattr(load, name, None)
        if value is None or _format(value) == "":
            continue  # an empty field would only add a dangling label
        text = _format(value)
        parts.append(f"{DESCRIPTION_FIELDS[name]}: {text}" if template.show_labels else text)
    return template.separator.join(parts)


def compose_line_description(charge_text: str | None, load_text: str) -> str:
    """Charge text first (what), load text on the next line (which container)."""
    return "\n".join(part for part in (charge_text or "", load_text) if part)


def fit_description(text: str, overflow: Literal["truncate", "fail"], *, where: str) -> str:
    """Keep within QuickBooks' 4,000 characters: cut with a visible marker, or refuse plainly."""
    if len(text) <= DESCRIPTION_MAX:
        return text
    if overflow == "fail":
        raise MappingError(
            f"The description of {where} is {len(text):,} characters; QuickBooks allows {DESCRIPTION_MAX:,}. "
            "Remove fields from the description template or set overflow to truncate in Settings."
        )
    return text[: DESCRIPTION_MAX - len(TRUNCATED_MARKER)] + TRUNCATED_MARKER


def charge_set_texts(charge_set: Any, template: DescriptionTemplate) -> list[str]:
    """Each line's Description for one charge set before the length policy: the load text where placement puts it."""
    load_text = render_description(charge_set.load, template)
    return [compose_line_description(charge.description or charge.charge_code.name,
                                     load_text if template.placement == "every_line" or index == 0 else "")
            for index, charge in enumerate(charge_set.lines)]


def invoice_descriptions(invoice: Any, template: DescriptionTemplate,
                         overflow: Literal["truncate", "fail"]) -> tuple[str, ...] | None:
    """Every line Description of an invoice as the sync sends it; None when the length policy stops the sync."""
    texts: list[str] = []
    try:
        for charge_set in invoice.charge_sets:
            texts.extend(fit_description(text, overflow, where=f"invoice {invoice.number}")
                         for text in charge_set_texts(charge_set, template))
    except MappingError:
        return None
    return tuple(texts)
