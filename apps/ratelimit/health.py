"""The rate limiter's part of the health check (`/health/`)."""

import dataclasses

from health_check.base import HealthCheck
from health_check.exceptions import ServiceWarning

from .limiter import limiter_status


@dataclasses.dataclass
class RateLimiter(HealthCheck):
    """Reports a rate limiter that cannot reach Redis (requests are then served unlimited)."""

    def run(self):
        status = limiter_status(probe=True)
        if not status["healthy"]:
            raise ServiceWarning(
                f"The rate limiter's store is unavailable ({status['failures']} failures); "
                "requests are served without limits."
            )
