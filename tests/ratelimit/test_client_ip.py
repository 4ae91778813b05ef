import pytest

from apps.ratelimit.client_ip import client_ip


@pytest.mark.parametrize(
    ("proxies", "remote", "forwarded", "expected"),
    [
        ([], "203.0.113.7", "198.51.100.1", "203.0.113.7"),  # untrusted: header ignored
        (["10.0.0.0/8"], "10.0.0.2", "198.51.100.1", "198.51.100.1"),
        (["10.0.0.0/8"], "10.0.0.2", "6.6.6.6, 198.51.100.1", "198.51.100.1"),  # forged left
        (["10.0.0.0/8"], "10.0.0.2", "198.51.100.1, 10.0.0.9", "198.51.100.1"),  # proxy chain
        (["10.0.0.0/8"], "10.0.0.2", "not-an-ip", "10.0.0.2"),
        (["10.0.0.0/8"], "10.0.0.2", "", "10.0.0.2"),
        (["10.0.0.0/8"], "192.0.2.1", "198.51.100.1", "192.0.2.1"),
        (["2001:db8::/32"], "2001:db8::1", "2001:db8:ffff::5, 2001:db9::7", "2001:db9::7"),
    ],
)
def test_client_ip_believes_only_trusted_proxies(
    rf, settings, proxies, remote, forwarded, expected
):
    settings.TRUSTED_PROXIES = proxies
    request = rf.get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected
