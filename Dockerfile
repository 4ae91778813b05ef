# The agentry image: one image for the web process, the Celery worker and beat.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# postgresql-client provides pg_dump/pg_restore for backups.
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 1000 agentry

WORKDIR /app
COPY pyproject.toml README.md ./
COPY config ./config
COPY apps ./apps
RUN pip install .
COPY . .

# collectstatic needs settings but no secrets or services.
RUN DEBUG=false SECRET_KEY=build-only-secret-key-not-used-at-runtime-000000 \
    python manage.py collectstatic --noinput \
    && mkdir -p /app/media /app/audit-archive && chown -R agentry /app/media /app/audit-archive

USER agentry
EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--config", "config/gunicorn.py"]
