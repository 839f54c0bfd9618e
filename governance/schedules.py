"""Periodic governance work (upserted by name by `sync_schedules`; the owner's edits survive)."""

SCHEDULES = [
    (
        "Personalization modes snapshot",
        "governance.record_mode_snapshot",
        # Daily, 23:50 UTC: the day's last picture of who paused or switched off.
        {
            "minute": "50",
            "hour": "23",
            "day_of_week": "*",
            "day_of_month": "*",
            "month_of_year": "*",
        },
        "Counts customers per personalization mode, for the trust dashboard's history.",
    ),
]
