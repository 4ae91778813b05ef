"""The deployment files describe the stack the issue asks for, and parse."""

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


def compose_command():
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True)
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def test_compose_has_web_worker_beat_postgres_and_redis():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"web", "worker", "beat", "postgres", "redis"}
    assert "gunicorn" in services["web"]["command"]
    assert "worker" in services["worker"]["command"]
    assert "beat" in services["beat"]["command"]
    for name in ("web", "worker", "beat"):
        env = services[name]["environment"]
        assert env["DEBUG"] == "false"
        assert env["DATABASE_URL"].startswith("postgres://")
        assert env["REDIS_URL"].startswith("redis://")


@pytest.mark.skipif(compose_command() is None, reason="needs docker compose or docker-compose")
def test_compose_file_parses_with_compose_itself():
    result = subprocess.run(
        [*compose_command(), "config", "-q"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_dockerfile_serves_with_gunicorn_as_an_unprivileged_user():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "FROM python:3.11" in dockerfile
    assert "USER agentry" in dockerfile
    assert "gunicorn" in dockerfile


def test_gunicorn_config_is_loadable():
    namespace: dict = {}
    exec((ROOT / "config" / "gunicorn.py").read_text(), namespace)
    assert namespace["workers"] >= 1
    assert namespace["bind"].endswith(":8000")
