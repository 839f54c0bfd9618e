"""A newcomer's first command: scripts/run starts web + worker + beat on the embedded default."""

import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - localhost
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def start_run_script(env: dict, log_path: Path) -> tuple[subprocess.Popen, object]:
    log = open(log_path, "w+")  # closed by stop_run_script
    process = subprocess.Popen(
        ["bash", "scripts/run"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return process, log


def wait_for_health(process: subprocess.Popen, port: int, log_path: Path) -> tuple[int, dict]:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        try:
            status, body = get(f"http://127.0.0.1:{port}/healthz/")
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(1)
            continue
        return status, json.loads(body)
    raise AssertionError("the app never answered /healthz/:\n" + log_path.read_text()[-4000:])


def stop_run_script(process: subprocess.Popen, log) -> None:
    # as the newcomer presses Ctrl-C
    try:
        os.killpg(process.pid, signal.SIGINT)
    except ProcessLookupError:
        pass  # everything in the group has exited already (the failure is reported above)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        pytest.fail("scripts/run did not stop on Ctrl-C")
    finally:
        log.close()


def test_run_script_starts_everything_and_ctrl_c_stops_it(tmp_path):
    # given a machine with no database or broker configured
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {
            "DATABASE_URL",
            "REDIS_URL",
            "DJANGO_SETTINGS_MODULE",
            "DJANGO_DEBUG",
            "CELERY_TASK_ALWAYS_EAGER",
        }
    }
    env.update({"VAR_DIR": str(tmp_path / "var"), "WEB_PORT": str(port)})
    base = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "run.log"
    # when the newcomer runs the README's first command
    process, log = start_run_script(env, log_path)
    try:
        # then the database and the broker are up, on the embedded components
        status, body = wait_for_health(process, port, log_path)
        output = log_path.read_text()
        assert status == 200, body
        assert body["database"] == {"ok": True, "detail": "sqlite"}
        assert body["broker"] == {"ok": True, "detail": "filesystem"}
        # the URL and the demo logins were printed
        assert f"http://127.0.0.1:{port}/" in output
        for login in ("gable@example.com", "staff@example.com", "owner@example.com"):
            assert login in output
        assert "demo-pass-1234" in output
        # the pages answer, with their stylesheet served by WhiteNoise (hashed name)
        status, page = get(f"{base}/transparency/")
        assert status == 200 and b"Purchase history" in page
        stylesheet = re.search(rb'href="(/static/css/site\.[0-9a-f]{12}\.css)"', page)
        assert stylesheet, "the stylesheet is not the collected, hashed file"
        status, css = get(base + stylesheet.group(1).decode())
        assert status == 200 and b".site-header" in css
        # debug is off: a missing page is the site's own, without Django's URL map
        status, missing = get(f"{base}/no-such-page/")
        assert status == 404
        assert b"We can't find that page" in missing and b"How we use AI" in missing
        assert b"URLconf" not in missing and b"healthz" not in missing
        status, icon = get(f"{base}/favicon.ico")
        assert status == 200 and icon.startswith(b"\x00\x00\x01\x00")
        # the worker and beat are running next to the web server
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            output = log_path.read_text()
            if "worker.1" in output and "celery@" in output and "beat: Starting" in output:
                break
            time.sleep(1)
        assert "beat: Starting" in output, output[-4000:]
        assert "ready." in output, output[-4000:]
        assert "gunicorn" in output.lower(), output[-4000:]
    finally:
        stop_run_script(process, log)
    # then every process it started is gone (honcho gives each its own process group,
    # so they are found by the VAR_DIR this run gave them)
    time.sleep(1)
    assert processes_with_env("VAR_DIR", env["VAR_DIR"]) == []
    with pytest.raises((urllib.error.URLError, ConnectionError)):
        get(f"{base}/healthz/")

    # when the newcomer runs it again on the same var/
    process, log = start_run_script(env, tmp_path / "run2.log")
    try:
        # then it starts again on what the first run left
        status, body = wait_for_health(process, port, tmp_path / "run2.log")
        assert status == 200, body
        status, page = get(f"{base}/transparency/")
        assert status == 200 and b"Purchase history" in page
        status, _ = get(f"{base}/favicon.ico")
        assert status == 200
    finally:
        stop_run_script(process, log)
    time.sleep(1)
    assert processes_with_env("VAR_DIR", env["VAR_DIR"]) == []


def processes_with_env(key: str, value: str) -> list[int]:
    marker = f"{key}={value}".encode()
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if marker in (proc / "environ").read_bytes().split(b"\0"):
                found.append(int(proc.name))
        except OSError:
            continue
    return found
