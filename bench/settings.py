"""Settings of the benchmark server: the production settings plus a baseline URL."""

from config.settings.base import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
LOGGING["root"]["level"] = "WARNING"  # noqa: F405

# BENCH_AUDIT=off: django-auditlog switched off for every request, the baseline of the agent
# update benchmark (bench/audit_update.sh). Anything else leaves auditing on, as in production.
if env.str("BENCH_AUDIT", default="on") == "off":  # noqa: F405
    MIDDLEWARE = ["bench.audit_update.AuditingOffMiddleware", *MIDDLEWARE]  # noqa: F405
