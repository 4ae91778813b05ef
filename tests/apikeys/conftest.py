import pytest

from apps.apikeys.signals import api_key_created, api_key_expiring, api_key_rejected


class SignalRecorder:
    def __init__(self, signal):
        self.signal = signal
        self.calls = []

    def __call__(self, sender, **kwargs):
        self.calls.append(kwargs)

    def reasons(self):
        return [call["reason"] for call in self.calls]


def _recorder(signal):
    recorder = SignalRecorder(signal)
    signal.connect(recorder, weak=False)
    yield recorder
    signal.disconnect(recorder)


@pytest.fixture
def rejections():
    """Every api_key_rejected signal sent during the test."""
    yield from _recorder(api_key_rejected)


@pytest.fixture
def created_signals():
    yield from _recorder(api_key_created)


@pytest.fixture
def expiring_signals():
    yield from _recorder(api_key_expiring)


@pytest.fixture
def admin(organization, member_of):
    return member_of(organization, "admin")


@pytest.fixture
def editor(organization, member_of):
    return member_of(organization, "editor")
