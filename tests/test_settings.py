"""Settings come from the environment, with safe development defaults."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import json
import django
django.setup()
from django.conf import settings
from config.celery import app
print(json.dumps({
    "debug": settings.DEBUG,
    "engine": settings.DATABASES["default"]["ENGINE"],
    "db_options": settings.DATABASES["default"].get("OPTIONS", {}),
    "cache": settings.CACHES["default"]["BACKEND"],
    "cache_location": settings.CACHES["default"].get("LOCATION"),
    "eager": app.conf.task_always_eager,
    "broker": app.conf.broker_url,
    "email": settings.EMAIL_BACKEND,
    "allowed_hosts": settings.ALLOWED_HOSTS,
    "csrf_trusted_origins": settings.CSRF_TRUSTED_ORIGINS,
    "secret_key": settings.SECRET_KEY,
}))
"""


def run_with_env(code: str, **variables):
    env = {
        "PATH": os.environ["PATH"],
        "ENV_FILE": os.devnull,
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        **variables,
    }
    return subprocess.run(
        [sys.executable, *code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def probe(**variables) -> dict:
    result = run_with_env(["-c", PROBE], **variables)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_with_nothing_set_it_runs_for_development():
    config = probe()
    assert config["debug"] is True
    assert config["engine"] == "django.db.backends.sqlite3"
    assert config["cache"] == "django.core.cache.backends.locmem.LocMemCache"
    assert config["eager"] is True
    assert config["email"] == "django.core.mail.backends.console.EmailBackend"
    assert config["allowed_hosts"] == ["localhost", "127.0.0.1", "[::1]"]


def test_database_and_redis_urls_select_postgres_with_a_pool_and_redis():
    config = probe(
        DATABASE_URL="postgres://agentry:secret@db.internal:5432/agentry",
        REDIS_URL="redis://cache.internal:6379/2",
    )
    assert config["engine"] == "django.db.backends.postgresql"
    assert config["db_options"]["pool"]["max_size"] == 10
    assert config["cache"] == "django.core.cache.backends.redis.RedisCache"
    assert config["cache_location"] == "redis://cache.internal:6379/2"
    assert config["broker"] == "redis://cache.internal:6379/2"
    assert config["eager"] is False


def test_lists_are_read_from_comma_separated_values():
    config = probe(
        ALLOWED_HOSTS="api.example.com,.example.org",
        CSRF_TRUSTED_ORIGINS="https://app.example.com",
    )
    assert config["allowed_hosts"] == ["api.example.com", ".example.org"]
    assert config["csrf_trusted_origins"] == ["https://app.example.com"]


def test_debug_off_without_secret_key_refuses_to_start_with_one_clear_line():
    result = run_with_env(["manage.py", "check"], DEBUG="false")
    assert result.returncode == 2
    assert result.stderr.strip() == "Configuration error: SECRET_KEY must be set when DEBUG is off."


@pytest.mark.parametrize(
    "weak", ["short", "django-insecure-development-only-never-use-in-production"]
)
def test_debug_off_refuses_a_weak_or_development_secret_key(weak):
    result = run_with_env(["manage.py", "check"], DEBUG="false", SECRET_KEY=weak)
    assert result.returncode == 2
    assert "SECRET_KEY must be a random value" in result.stderr
    assert "Traceback" not in result.stderr


def test_debug_off_with_a_secret_key_starts_and_uses_it():
    key = "k" * 50
    config = probe(DEBUG="false", SECRET_KEY=key)
    assert config["debug"] is False
    assert config["secret_key"] == key


def test_env_file_fills_in_unset_variables(tmp_path):
    env_file = tmp_path / "agentry.env"
    env_file.write_text("ALLOWED_HOSTS=from-file.example\nDEBUG=true\n")
    result = run_with_env(["-c", PROBE], ENV_FILE=str(env_file))
    assert json.loads(result.stdout)["allowed_hosts"] == ["from-file.example"]


def test_env_example_lists_every_variable_the_settings_read():
    settings_source = (ROOT / "config" / "settings" / "base.py").read_text()
    example = (ROOT / ".env.example").read_text()
    import re

    read = set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z_]+)"', settings_source))
    documented = set(re.findall(r"^#?\s*([A-Z_]+)=", example, flags=re.MULTILINE))
    assert read, "no variables found in settings"
    assert read <= documented, f"missing from .env.example: {sorted(read - documented)}"
    for name in (
        "SECRET_KEY",
        "DEBUG",
        "ALLOWED_HOSTS",
        "CSRF_TRUSTED_ORIGINS",
        "DATABASE_URL",
        "REDIS_URL",
    ):
        assert name in documented


def test_empty_values_from_a_copied_env_example_count_as_unset():
    config = probe(
        REDIS_URL="redis://cache.internal:6379/2", CELERY_BROKER_URL="", CELERY_TASK_ALWAYS_EAGER=""
    )
    assert config["broker"] == "redis://cache.internal:6379/2"
    assert config["eager"] is False
