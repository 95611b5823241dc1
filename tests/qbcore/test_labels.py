"""Every action written to the audit log has words on the Audit log (labels.AUDIT_ACTION), never its raw name."""

import ast
from pathlib import Path

import pytest

from qbcore.labels import AUDIT_ACTION, count_words
from qbcore.models import EntityType

ROOT = Path(__file__).resolve().parents[2]
# Callers that write an audit event (or audit a refusal) and where their action name sits among the arguments.
AUDITING = {"write_audit": 2, "require_role": 2, "_audit_each": 2, "_check_admin": 1}


def _audited_actions() -> dict[str, str]:
    found: dict[str, str] = {}
    for path in sorted((ROOT / "qbcore").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "action" for t in node.targets):
                # action = "reactivate_user" if active else "deactivate_user": every word it can hold.
                for value in ast.walk(node.value):
                    if isinstance(value, ast.Constant) and isinstance(value.value, str):
                        found.setdefault(value.value, str(path.relative_to(ROOT)))
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            if name not in AUDITING:
                continue
            values = [k.value for k in node.keywords if k.arg == "action"]
            if len(node.args) > AUDITING[name]:
                values.append(node.args[AUDITING[name]])
            for value in values:
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    found.setdefault(value.value, str(path.relative_to(ROOT)))
    return found


def test_every_audited_action_has_a_label():
    actions = _audited_actions()
    assert {"change_alert_rules", "remove_qbo_id", "bootstrap_admin", "deactivate_user"} <= set(actions)
    assert {a: where for a, where in actions.items() if a not in AUDIT_ACTION} == {}


@pytest.mark.parametrize(("counts", "words"), [
    ([], ""),
    ([(EntityType.SETTLEMENT, 0)], ""),
    ([(EntityType.SETTLEMENT, 1)], "1 settlement"),
    ([(EntityType.SETTLEMENT, 3), (EntityType.CARRIER_BILL, 1)], "3 settlements and 1 carrier bill"),
    ([(EntityType.SETTLEMENT, 2), (EntityType.CARRIER_BILL, 0), (EntityType.SETTLEMENT_PAYMENT, 1),
      (EntityType.CARRIER_PAYMENT, 1_204)],
     "2 settlements, 1 settlement payment and 1,204 carrier bill payments"),
])
def test_record_counts_read_as_words_with_right_plurals(counts, words):
    assert count_words(counts) == words
