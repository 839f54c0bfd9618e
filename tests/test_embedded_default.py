"""A newcomer's first command: scripts/run starts web + worker + beat on the embedded default."""

import json
import os
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


def test_run_script_starts_everything_and_ctrl_c_stops_it(tmp_path):
    # given a machine with no database or broker configured
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "CELERY_TASK_ALWAYS_EAGER"}
    }
    env.update({"VAR_DIR": str(tmp_path / "var"), "WEB_PORT": str(port)})
    log = open(tmp_path / "run.log", "w+")  # closed below
    # when the newcomer runs the README's first command
    process = subprocess.Popen(
        ["bash", "scripts/run"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        health = None
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and process.poll() is None:
            try:
                status, body = get(f"http://127.0.0.1:{port}/healthz/")
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(1)
                continue
            health = (status, json.loads(body))
            break
        output = (tmp_path / "run.log").read_text()
        assert health is not None, "the app never answered /healthz/:\n" + output[-4000:]
        # then the database and the broker are up, on the embedded components
        status, body = health
        assert status == 200, body
        assert body["database"] == {"ok": True, "detail": "sqlite"}
        assert body["broker"] == {"ok": True, "detail": "filesystem"}
        # the URL and the demo logins were printed
        assert f"http://127.0.0.1:{port}/" in output
        for login in ("gable@example.com", "staff@example.com", "owner@example.com"):
            assert login in output
        assert "demo-pass-1234" in output
        # the pages answer
        status, page = get(f"http://127.0.0.1:{port}/transparency/")
        assert status == 200 and b"Purchase history" in page
        # the worker and beat are running next to the web server
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            output = (tmp_path / "run.log").read_text()
            if "worker.1" in output and "celery@" in output and "beat: Starting" in output:
                break
            time.sleep(1)
        assert "beat: Starting" in output, output[-4000:]
        assert "ready." in output, output[-4000:]
    finally:
        # when the newcomer presses Ctrl-C
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            pytest.fail("scripts/run did not stop on Ctrl-C")
        log.close()
    # then every process it started is gone (honcho gives each its own process group,
    # so they are found by the VAR_DIR this run gave them)
    time.sleep(1)
    assert processes_with_env("VAR_DIR", env["VAR_DIR"]) == []
    with pytest.raises((urllib.error.URLError, ConnectionError)):
        get(f"http://127.0.0.1:{port}/healthz/")


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
