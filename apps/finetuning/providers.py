"""Where training happens: a small interface, a registry by name and the local provider.

A provider receives a job whose training file has been validated, with the
file's statistics, and answers with the final status and a result. Which one a
job uses is `FINETUNING_PROVIDER` at the time the job is created, recorded on
the job as `provider`.
"""

import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field

from .hyperparameters import effective_hyperparameters
from .models import FineTuningJob
from .validation import TrainingFileStats


@dataclass(frozen=True)
class ProviderResult:
    """What a provider answers: the final status (succeeded or failed), a result, an error."""

    status: str
    result: dict = field(default_factory=dict)
    error: str = ""

    def __post_init__(self):
        allowed = {FineTuningJob.Status.SUCCEEDED, FineTuningJob.Status.FAILED}
        if self.status not in allowed:
            raise ValueError(f"A provider must end a job succeeded or failed, not {self.status!r}")


class FineTuningProvider(ABC):
    """Trains `job.base_model` on the job's validated training file."""

    name: str

    @abstractmethod
    def start(self, *, job: FineTuningJob, stats: TrainingFileStats) -> ProviderResult:
        """Train and return how it ended; raising is treated as an internal failure."""


class LocalProvider(FineTuningProvider):
    """Completes a job on the spot, with a result derived from the file and the settings.

    It trains nothing: it is the provider of development, tests and
    installations that fine-tune outside the platform, and it shows what a
    real provider reports.
    """

    name = "local"

    def start(self, *, job: FineTuningJob, stats: TrainingFileStats) -> ProviderResult:
        settings = effective_hyperparameters(job.hyperparameters)
        epochs = settings["n_epochs"]
        steps_per_epoch = math.ceil(stats.examples / settings["batch_size"])
        return ProviderResult(
            status=FineTuningJob.Status.SUCCEEDED,
            result={
                "fine_tuned_model": (
                    f"{job.base_model}:ft-{job.organization.slug}-{job.id.hex[:8]}"
                ),
                "trained_tokens": stats.estimated_tokens * epochs,
                "epochs": epochs,
                "steps": steps_per_epoch * epochs,
                "hyperparameters": settings,
            },
        )


class UnknownProviderError(LookupError):
    """No provider is registered under the name a job asks for."""

    def __init__(self, name: str):
        known = ", ".join(sorted(_REGISTRY)) or "none"
        super().__init__(f'Unknown fine-tuning provider "{name}". Known providers: {known}.')


_REGISTRY: dict[str, Callable[[], FineTuningProvider]] = {}


def register_provider(name: str, factory: Callable[[], FineTuningProvider]) -> None:
    """Make a provider available under `name` (the value of FINETUNING_PROVIDER)."""
    _REGISTRY[name] = factory


def unregister_provider(name: str) -> None:
    _REGISTRY.pop(name, None)


def get_provider(name: str) -> FineTuningProvider:
    """A new instance of the provider registered as `name`, or UnknownProviderError."""
    try:
        factory = _REGISTRY[name]
    except KeyError:
        raise UnknownProviderError(name) from None
    return factory()


register_provider(LocalProvider.name, LocalProvider)
