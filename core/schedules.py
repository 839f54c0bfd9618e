"""Periodic work every installation gets, declared per app in `<app>/schedules.py`.

Each module lists `SCHEDULES`: (name, task, every_seconds or crontab dict, description).
"""

SCHEDULES = [
    (
        "Worker heartbeat",
        "core.record_heartbeat",
        {"every_seconds": 60},
        "Proves a Celery worker is consuming the queue; shown on the owner's console.",
    ),
]
