"""The API's throttle: budgets per key, user or IP, per scope, with RateLimit headers."""

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.views import APIView

from apps.ratelimit.scopes import SCOPES
from tests.factories import UserFactory

pytestmark = pytest.mark.usefixtures("limits")

PING = "/api/ping/"
AUTH_PING = "/api/auth-ping/"


def statuses(client, path, times, **extra):
    return [client.get(path, **extra).status_code for _ in range(times)]


def rate_headers(response):
    return (
        response.get("RateLimit-Limit"),
        response.get("RateLimit-Remaining"),
        response.get("RateLimit-Reset"),
    )


@pytest.mark.urls("tests.ratelimit.urls")
class TestBudget:
    def test_the_limit_holds_within_a_window(self):
        assert statuses(Client(), PING, 5) == [200, 200, 200, 429, 429]

    def test_the_budget_comes_back_when_the_window_ends(self, clock):
        client = Client()
        assert statuses(client, PING, 4) == [200, 200, 200, 429]
        clock.advance(59)
        assert client.get(PING).status_code == 429
        clock.advance(1)
        response = client.get(PING)
        assert response.status_code == 200
        assert rate_headers(response) == ("3", "2", "60")

    def test_allowed_responses_carry_the_headers(self, clock):
        client = Client()
        first = client.get(PING)
        clock.advance(15.5)
        second = client.get(PING)
        third = client.get(PING)
        assert rate_headers(first) == ("3", "2", "60")
        assert rate_headers(second) == ("3", "1", "45")  # whole seconds, rounded up
        assert rate_headers(third) == ("3", "0", "45")

    def test_a_refused_request_gets_the_envelope_retry_after_and_the_headers(self, clock):
        client = Client()
        statuses(client, PING, 3)
        clock.advance(20)
        response = client.get(PING)
        assert response.status_code == 429
        assert response["Retry-After"] == "40"
        assert rate_headers(response) == ("3", "0", "40")
        error = response.json()["error"]
        assert error["code"] == "throttled"
        assert error["details"] == {"retry_after": 40}
        assert "40 seconds" in error["message"]
        assert error["request_id"] == response["X-Request-ID"]

    def test_views_without_rate_limit_pages_get_no_headers(self):
        response = Client().get("/page/")
        assert response.status_code == 200
        assert rate_headers(response) == (None, None, None)


@pytest.mark.urls("tests.ratelimit.urls")
@pytest.mark.django_db
class TestCallers:
    def test_two_users_do_not_share_a_budget(self):
        alice, bob = Client(), Client()
        alice.force_login(UserFactory())
        bob.force_login(UserFactory())
        assert statuses(alice, PING, 4) == [200, 200, 200, 429]
        assert bob.get(PING).status_code == 200

    def test_a_signed_in_user_is_not_counted_in_the_budget_of_the_ip(self):
        user = Client()
        user.force_login(UserFactory())
        assert statuses(user, PING, 4) == [200, 200, 200, 429]
        # Same address (the test client's 127.0.0.1), anonymous: its own budget.
        assert statuses(Client(), PING, 3) == [200, 200, 200]

    def test_anonymous_callers_from_two_ips_do_not_share_a_budget(self):
        client = Client()
        assert statuses(client, PING, 4, REMOTE_ADDR="198.51.100.1") == [200, 200, 200, 429]
        assert client.get(PING, REMOTE_ADDR="198.51.100.2").status_code == 200

    def test_a_forged_forwarded_for_from_an_untrusted_address_gets_no_fresh_budget(self):
        client = Client()
        codes = [
            client.get(
                PING, REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}"
            ).status_code
            for n in range(5)
        ]
        assert codes == [200, 200, 200, 429, 429]

    def test_the_address_forwarded_by_a_trusted_proxy_is_the_caller(self, settings):
        settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
        proxy = {"REMOTE_ADDR": "10.0.0.2"}
        client = Client()
        first = statuses(client, PING, 3, HTTP_X_FORWARDED_FOR="198.51.100.1", **proxy)
        assert first == [200, 200, 200]
        # A client that forges an entry in front of its real address is still itself.
        forged = client.get(PING, HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.1", **proxy)
        assert forged.status_code == 429
        # Another client behind the same proxy has its own budget.
        other = client.get(PING, HTTP_X_FORWARDED_FOR="198.51.100.2", **proxy)
        assert other.status_code == 200


@pytest.mark.urls("tests.ratelimit.urls")
class TestApiKeys:
    def test_each_key_has_its_own_budget_whatever_its_address(self):
        client = Client()
        assert statuses(client, PING, 4, HTTP_X_TEST_KEY="key-a") == [200, 200, 200, 429]
        assert client.get(PING, HTTP_X_TEST_KEY="key-b").status_code == 200
        assert client.get(PING).status_code == 200  # the IP's anonymous budget is untouched

    def test_a_key_with_its_own_rate_limit_gets_that_limit_instead(self):
        client = Client()
        generous = statuses(client, PING, 6, HTTP_X_TEST_KEY="key-a:5")
        assert generous == [200, 200, 200, 200, 200, 429]
        stingy = [client.get(PING, HTTP_X_TEST_KEY="key-b:1") for _ in range(2)]
        assert [r.status_code for r in stingy] == [200, 429]
        assert rate_headers(stingy[0]) == ("1", "0", "60")

    def test_a_key_s_own_limit_does_not_loosen_the_auth_scope(self):
        client = Client()
        responses = [client.get(AUTH_PING, HTTP_X_TEST_KEY="key-a:50") for _ in range(3)]
        assert [r.status_code for r in responses] == [200, 200, 429]
        assert responses[0]["RateLimit-Limit"] == "2"


@pytest.mark.urls("tests.ratelimit.urls")
class TestAuthScope:
    def test_the_auth_scope_is_stricter(self):
        client = Client()
        responses = [client.get(AUTH_PING) for _ in range(3)]
        assert [r.status_code for r in responses] == [200, 200, 429]
        assert rate_headers(responses[0]) == ("2", "1", "300")
        assert responses[2]["Retry-After"] == "300"

    def test_the_auth_scope_has_its_own_budget(self):
        client = Client()
        assert statuses(client, AUTH_PING, 3) == [200, 200, 429]
        assert statuses(client, PING, 3) == [200, 200, 200]

    def test_anonymous_auth_callers_are_counted_per_ip(self):
        client = Client()
        assert statuses(client, AUTH_PING, 3, REMOTE_ADDR="198.51.100.1") == [200, 200, 429]
        assert client.get(AUTH_PING, REMOTE_ADDR="198.51.100.2").status_code == 200


class TestWiring:
    """The real URL map: settings install the throttle and the header middleware."""

    def test_the_api_is_throttled_with_headers(self):
        client = Client()
        responses = [client.get("/api/v1/") for _ in range(4)]
        assert [r.status_code for r in responses] == [200, 200, 200, 429]
        assert rate_headers(responses[0]) == ("3", "2", "60")
        assert responses[3].json()["error"]["code"] == "throttled"

    def test_pages_outside_the_api_get_no_headers(self):
        response = Client().get("/no-such-page/")
        assert response.status_code == 404
        assert rate_headers(response) == (None, None, None)

    def test_every_api_view_names_a_known_scope(self):
        """`rate_limit_scope` may be an attribute or a property that depends on the action."""

        def views(patterns):
            for pattern in patterns:
                if isinstance(pattern, URLResolver):
                    yield from views(pattern.url_patterns)
                elif isinstance(pattern, URLPattern):
                    view_class = getattr(pattern.callback, "cls", None)
                    if view_class is not None and issubclass(view_class, APIView):
                        yield view_class, getattr(pattern.callback, "actions", None) or {}

        found = list(views(get_resolver().url_patterns))
        assert found
        for view_class, actions in found:
            for action in [None, *actions.values()]:
                view = view_class()
                view.action = action
                scope = getattr(view, "rate_limit_scope", "default")
                assert scope in SCOPES, f"{view_class.__name__} ({action}): {scope!r}"
