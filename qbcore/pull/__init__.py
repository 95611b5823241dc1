"""Two-way sync: changes pulled back from QuickBooks (payments applied there, voids, deletions, edits)."""

from qbcore.pull.runner import PullSummary, enqueue_pull, enqueue_pull_if_due, run_pull, run_pull_job

__all__ = ["PullSummary", "enqueue_pull", "enqueue_pull_if_due", "run_pull", "run_pull_job"]
