"""One budget across web processes: two gunicorn servers sharing one Redis and one database."""

import http.client
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import connection
from django.test import Client

from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 5
# Windows are aligned on the epoch: a very long one makes a window edge during the test unlikely.
PERIOD = 10_000_000
TIMEOUT = 10


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def database_url() -> str:
    db = connection.settings_dict
    credentials = quote(db["USER"], safe="") + (
        f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else ""
    )
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def get(port: int, path: str, cookie: str = ""):
    """GET `path` from the server on `port`: (status, headers)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    try:
        conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
        response = conn.getresponse()
        response.read()
        return response.status, {name.lower(): value for name, value in response.getheaders()}
    finally:
        conn.close()


class Server:
    """A gunicorn process serving the project on a free loopback port."""

    def __init__(self, environment: dict, log_path: Path):
        self.port = free_port()
        self.log_path = log_path
        # The child keeps its own copy of the file descriptor.
        with open(log_path, "wb") as log:
            self.process = self._start(environment, log)

    def _start(self, environment, log):
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                "1",
                "--timeout",
                "30",
                "config.wsgi:application",
            ],
            cwd=ROOT,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def wait_until_ready(self, deadline: float):
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited:\n{self.output()}")
            try:
                # A page outside the API: answered by Django, not counted.
                if get(self.port, "/not-counted/")[0] == 404:
                    return
            except OSError:
                pass  # not listening yet
            time.sleep(0.1)
        raise AssertionError(f"server on port {self.port} did not start:\n{self.output()}")

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=TIMEOUT)


@pytest.fixture(scope="module")
def servers(django_db_setup, tmp_path_factory):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: the servers must share the test database")
    if not isinstance(caches["default"], RedisCache):
        pytest.skip("needs Redis: REDIS_URL is not set, so each process would count alone")
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": database_url(),
        "DATABASE_POOL": "false",
        "REDIS_URL": settings.CACHES["default"]["LOCATION"],
        "RATE_LIMIT_MAX": str(LIMIT),
        "RATE_LIMIT_TTL": str(PERIOD),
        "TRUSTED_PROXIES": "",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    pair = []
    try:
        logs = tmp_path_factory.mktemp("servers")
        pair.extend([Server(environment, logs / f"server{n}.log") for n in range(2)])
        deadline = time.monotonic() + 60
        for server in pair:
            server.wait_until_ready(deadline)
        yield pair
    finally:
        for server in pair:
            server.stop()


def alternate(servers, path, times, cookie=""):
    return [get(servers[n % 2].port, path, cookie) for n in range(times)]


def test_anonymous_requests_to_two_processes_share_one_budget(servers, transactional_db):
    answers = alternate(servers, "/api/v1/", 2 * LIMIT + 2)
    assert [status for status, _ in answers] == [200] * LIMIT + [429] * (LIMIT + 2)
    remaining = [int(headers["ratelimit-remaining"]) for _, headers in answers]
    assert remaining == [4, 3, 2, 1, 0] + [0] * (LIMIT + 2)
    assert all(headers["ratelimit-limit"] == str(LIMIT) for _, headers in answers)
    assert all(int(headers["retry-after"]) > 0 for _, headers in answers[LIMIT:])


def test_a_signed_in_user_has_one_budget_across_processes(servers, transactional_db):
    browser = Client()
    browser.force_login(UserFactory())
    cookie = f"{settings.SESSION_COOKIE_NAME}={browser.cookies[settings.SESSION_COOKIE_NAME].value}"
    answers = alternate(servers, "/api/v1/me/", LIMIT + 3, cookie)
    assert [status for status, _ in answers] == [200] * LIMIT + [429] * 3
    # The user's budget is not the address's: anonymous callers of 127.0.0.1 still pass.
    assert get(servers[0].port, "/api/v1/")[0] == 200
    assert get(servers[1].port, "/api/v1/")[0] == 200
