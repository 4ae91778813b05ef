"""The URL map. Everything an organization owns lives under /api/v1/orgs/{org_slug}/."""

from django.contrib import admin
from django.urls import include, path, re_path
from health_check.views import HealthCheckView

from apps.authn.forms import LockoutAdminAuthenticationForm
from apps.core.api.views import ApiRootView, SchemaView, SwaggerView
from apps.core.views import api_not_found
from apps.organizations.api.urls import organization_urlpatterns

# The admin's login form counts failures and honours lockouts like every other login.
admin.site.login_form = LockoutAdminAuthenticationForm

handler400 = "apps.core.views.bad_request"
handler403 = "apps.core.views.permission_denied"
handler404 = "apps.core.views.page_not_found"
handler500 = "apps.core.views.server_error"

organization_scoped_patterns = [
    *organization_urlpatterns,
    path("", include("apps.access.api.urls")),
    path("", include("apps.agents.api.urls")),
    path("", include("apps.conversations.api.urls")),
    path("", include("apps.knowledge.api.urls")),
    path("", include("apps.workflows.api.urls")),
    path("", include("apps.tools.api.urls")),
    path("", include("apps.finetuning.api.urls")),
    path("", include("apps.apikeys.api.urls")),
    path("", include("apps.audit.api.urls")),
]

api_v1_patterns = [
    path("", ApiRootView.as_view(), name="root"),
    path("", include("apps.accounts.api.urls")),
    path("", include("apps.organizations.api.urls")),
    path("auth/", include("apps.authn.api.urls")),
    path("orgs/<slug:org_slug>/", include(organization_scoped_patterns)),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include((api_v1_patterns, "api"), namespace="api")),
    path("api/schema/", SchemaView.as_view(), name="schema"),
    path("api/docs/", SwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    # DRF's login and logout names, with the login lockout (apps.authn.session_urls).
    # Database, cache and rate limiter; JSON with ?format=json or Accept: application/json.
    path(
        "health/",
        HealthCheckView.as_view(
            checks=[
                "health_check.checks.Database",
                "health_check.checks.Cache",
                "apps.ratelimit.health.RateLimiter",
            ]
        ),
        name="health",
    ),
    path("api-auth/", include("apps.authn.session_urls")),
    path("auth/", include("apps.authn.password_reset_urls")),
    # Anything else under /api/ is the error envelope's 404, with DEBUG on too.
    re_path(r"^api/", api_not_found),
]
