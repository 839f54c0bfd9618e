"""Periodic work every installation gets, declared per app in `<app>/schedules.py`.

Each module lists `SCHEDULES`: (name, task, every_seconds or crontab dict, description).
An interval may also list `earlier_every_seconds`: the defaults it had in earlier
releases. An installed schedule still at one of them was never edited by the owner, so
`sync_schedules` moves it to the new default; any other interval is the owner's and stays.
"""

SCHEDULES = [
    (
        "Worker heartbeat",
        "core.record_heartbeat",
        {"every_seconds": 60},
        "Proves a Celery worker is consuming the queue; shown on the owner's console.",
    ),
]
