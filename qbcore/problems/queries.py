"""The problem queries pages and commands import: one name for the list, filters, root causes, masking and export."""

from qbcore.problems.export import (
    COMPANY_HEADER,
    EXPORT_HEADER,
    PAID_HEADER,
    export_header,
    export_problems_csv,
    problems_csv_bytes,
)
from qbcore.problems.filters import (
    PROBLEM_ENTITIES,
    SET_ASIDE_STATUSES,
    CauseKey,
    ProblemFilter,
    has_mark_paid,
    has_set_aside,
    is_payee,
    select_problem_ids,
)
from qbcore.problems.listing import (
    PAGE_SIZE,
    AttemptRow,
    ProblemDetail,
    ProblemPage,
    ProblemRow,
    ProblemSort,
    ProblemSummary,
    SelectionSummary,
    StatusCount,
    count_matching,
    get_last_sync_time,
    get_problem_detail,
    has_paid_in_quickbooks,
    iter_problems,
    list_customer_choices,
    list_error_kinds,
    list_problem_tabs,
    list_problems,
    list_vendor_choices,
    summarize_problems,
    summarize_records,
)
from qbcore.problems.masking import mask_secrets
from qbcore.problems.root_causes import NAME_CLASH_CODE, cause_key, list_root_causes

__all__ = [
    "COMPANY_HEADER", "EXPORT_HEADER", "NAME_CLASH_CODE", "PAGE_SIZE", "PAID_HEADER", "PROBLEM_ENTITIES",
    "SET_ASIDE_STATUSES", "AttemptRow", "CauseKey", "ProblemDetail", "ProblemFilter", "ProblemPage", "ProblemRow",
    "ProblemSort", "ProblemSummary", "SelectionSummary", "StatusCount", "cause_key", "count_matching", "export_header",
    "export_problems_csv", "get_last_sync_time", "get_problem_detail", "has_mark_paid", "has_paid_in_quickbooks",
    "has_set_aside", "is_payee", "iter_problems", "list_customer_choices", "list_error_kinds", "list_problem_tabs",
    "list_problems", "list_root_causes", "list_vendor_choices", "mask_secrets", "problems_csv_bytes",
    "select_problem_ids", "summarize_problems", "summarize_records",
]
