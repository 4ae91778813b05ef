"""Default deny: every API view declares the permission each of its actions needs."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from apps.access.api.permissions import DeclaredAccess, Rule


def iter_patterns(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from iter_patterns(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern.callback


def api_views():
    for route, callback in iter_patterns(get_resolver().url_patterns):
        view_class = getattr(callback, "cls", None)
        if view_class is not None and issubclass(view_class, APIView):
            yield route, callback, view_class


ALL_API_VIEWS = list(api_views())


def test_the_walk_finds_the_api():
    routes = [route for route, _callback, _cls in ALL_API_VIEWS]
    assert any("members" in route for route in routes)
    assert len(routes) >= 6


@pytest.mark.parametrize(
    ("route", "callback", "view_class"), ALL_API_VIEWS, ids=[r for r, _c, _v in ALL_API_VIEWS]
)
def test_every_api_view_declares_access_for_every_action(route, callback, view_class):
    assert view_class.permission_classes == [DeclaredAccess], (
        f"{view_class.__name__} at {route} must use DeclaredAccess alone"
    )
    access = getattr(view_class, "access", None)
    assert access, f"{view_class.__name__} at {route} declares no access"
    actions = getattr(callback, "actions", None)
    if actions:
        needed = set(actions.values())
    else:
        needed = {m for m in ("get", "post", "put", "patch", "delete") if hasattr(view_class, m)}
    missing = needed - set(access)
    assert not missing, f"{view_class.__name__} at {route} declares nothing for {sorted(missing)}"
    for action, rule in access.items():
        assert isinstance(rule, Rule), f"{view_class.__name__}.{action} is not a Rule"


def test_a_view_that_declares_nothing_is_denied(db):
    from rest_framework.test import force_authenticate

    from .factories import UserFactory

    class Undeclared(APIView):
        def get(self, request):
            raise AssertionError("must not be reached")

    request = APIRequestFactory().get("/api/v1/undeclared/")
    force_authenticate(request, UserFactory())  # signed in, so the refusal is 403, not 401
    response = Undeclared.as_view()(request)
    assert response.status_code == 403


def test_an_undeclared_action_of_a_declaring_view_is_denied(db):
    from .factories import UserFactory

    class HalfDeclared(APIView):
        permission_classes = [DeclaredAccess]
        access = {"get": Rule.__new__(type("Yes", (Rule,), {"has_permission": lambda *a: True}))}

        def get(self, request):
            return None

        def post(self, request):
            raise AssertionError("must not be reached")

    from rest_framework.test import force_authenticate

    request = APIRequestFactory().post("/api/v1/half/")
    force_authenticate(request, UserFactory())
    assert HalfDeclared.as_view()(request).status_code == 403
