"""Settings of the benchmark server: the production settings plus a baseline URL."""

from config.settings.base import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
