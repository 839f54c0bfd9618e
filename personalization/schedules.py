"""Periodic work of the personalization app (see core/schedules.py for the format)."""

SCHEDULES = [
    (
        "Start data erasures and re-queue stuck data requests",
        "datarights.requests_dispatch",
        {"every_seconds": 60},
        "Starts each erasure once its cancel window has ended, and queues again any "
        "export or erasure whose worker stopped without finishing it.",
    ),
    (
        "Take withdrawn data out of the recommendation model",
        "unlearning.sweep",
        {"every_seconds": 60},
        "Takes out of the served recommendation model the data of every customer who "
        "withdrew consent for it after the model was trained, if that is not done yet (its "
        "message was lost, or a training read the data just before the withdrawal).",
    ),
    (
        "Send webhook deliveries whose message was lost",
        "webhooks.send_unsent",
        {"every_seconds": 60},
        "Queues again every webhook delivery still waiting for its first attempt a minute "
        "after it was created, or for a retry long overdue (its message was lost, e.g. "
        "while the broker was down), so the shop's systems hear of every consent change "
        "and erasure.",
    ),
    (
        "Resume offer campaigns whose offers stopped being chosen",
        "campaigns.requeue_stuck",
        {"every_seconds": 60},
        "Queues again the choosing of offers for a campaign that made no progress for "
        "three minutes (its worker stopped, or its message was lost while the broker was "
        "down); offers already chosen are kept.",
    ),
    (
        "Resume data imports whose worker stopped",
        "importing.sweep",
        {"every_seconds": 60},
        "Queues again an owner's upload whose check or import made no progress for three "
        "minutes (its worker stopped: the import starts again from the beginning, nothing "
        "having been written), fails one that stopped four times, and deletes the files "
        "of previews nobody confirmed within a day.",
    ),
    (
        "Delete expired data exports",
        "datarights.exports_purge",
        {"every_seconds": 3600},
        "Deletes customers' export files once their download period has ended.",
    ),
    (
        "Enforce retention periods",
        "datarights.retention_enforce",
        {
            "minute": "30",
            "hour": "3",
            "day_of_week": "*",
            "day_of_month": "*",
            "month_of_year": "*",
        },
        "Daily: deletes interactions and declared attributes older than their data "
        "category's retention period and records how many went.",
    ),
    (
        "Train the recommender and refresh every customer's list",
        "recommending.refresh",
        {
            "minute": "15",
            "hour": "4",
            "day_of_week": "*",
            "day_of_month": "*",
            "month_of_year": "*",
        },
        "Daily: trains a new model version on consented data (the previous one keeps "
        "serving until it is ready), then regenerates every customer's list in chunks.",
    ),
]
