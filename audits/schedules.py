"""Periodic audit work (upserted by name by `sync_schedules`; the owner's edits survive)."""

AUDIT_SCHEDULE_NAME = "Bias audit"

SCHEDULES = [
    (
        AUDIT_SCHEDULE_NAME,
        "audits.run_scheduled",
        # Weekly, Monday 06:00 UTC; the owner edits it on the policy page.
        {"minute": "0", "hour": "6", "day_of_week": "1", "day_of_month": "*", "month_of_year": "*"},
        "Runs the bias audit with the owner's policy.",
    ),
    (
        "Resume stuck bias audits",
        "audits.requeue_stuck",
        {"every_seconds": 60, "earlier_every_seconds": (300,)},
        "Queues again an audit whose worker stopped (it continues from its last chunk).",
    ),
]
