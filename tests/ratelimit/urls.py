"""Views for the rate-limit tests only: one per scope, a stand-in API key, plain Django views."""

from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse
from django.urls import path
from rest_framework.authentication import BaseAuthentication, SessionAuthentication
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.access.api.permissions import PUBLIC, DeclaredAccess
from apps.ratelimit.decorators import rate_limited

KEY_HEADER = "X-Test-Key"


@dataclass(frozen=True)
class StandInKey:
    """What the throttle reads of an API key: is_api_key, pk and an optional rate_limit."""

    pk: str
    rate_limit: int | None = None
    is_api_key: bool = True


class StandInKeyAuthentication(BaseAuthentication):
    """`X-Test-Key: <pk>` or `<pk>:<rate_limit>` authenticates as that stand-in key."""

    def authenticate(self, request):
        value = request.headers.get(KEY_HEADER)
        if not value:
            return None
        pk, _, rate_limit = value.partition(":")
        return AnonymousUser(), StandInKey(
            pk=pk, rate_limit=int(rate_limit) if rate_limit else None
        )


class PingView(APIView):
    authentication_classes = [StandInKeyAuthentication, SessionAuthentication]
    permission_classes = [DeclaredAccess]
    access = {"get": PUBLIC}

    def get(self, request):
        return Response({"pong": True})


class AuthPingView(PingView):
    rate_limit_scope = "auth"


@rate_limited("auth")
def plain_view(request):
    return HttpResponse("ok")


@rate_limited("auth", methods=("post",))
def form_view(request):
    return HttpResponse("form")


def unlimited_view(request):
    return HttpResponse("free")


urlpatterns = [
    path("api/ping/", PingView.as_view()),
    path("api/auth-ping/", AuthPingView.as_view()),
    path("api/plain/", plain_view),
    path("plain/", plain_view),
    path("form/", form_view),
    path("page/", unlimited_view),
]
