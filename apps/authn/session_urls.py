"""Login and logout of the browsable API, in place of `rest_framework.urls`.

The namespace and names are DRF's (`rest_framework:login`, `rest_framework:logout`), which
the browsable API's templates and `LOGIN_URL` use.
"""

from django.contrib.auth import views as auth_views
from django.urls import path

from .views import LoginView

app_name = "rest_framework"

urlpatterns = [
    path("login/", LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
]
