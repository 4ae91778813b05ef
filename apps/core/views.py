"""Django's error handlers: the error envelope under /api/, plain pages elsewhere."""

from django.views import defaults

from .errors import error_json_response, is_api_request


def bad_request(request, exception, template_name="400.html"):
    if is_api_request(request):
        return error_json_response(status=400, code="bad_request", message="Bad request.")
    return defaults.bad_request(request, exception, template_name)


def permission_denied(request, exception, template_name="403.html"):
    if is_api_request(request):
        return error_json_response(
            status=403,
            code="permission_denied",
            message="You do not have permission to perform this action.",
        )
    return defaults.permission_denied(request, exception, template_name)


def page_not_found(request, exception, template_name="404.html"):
    if is_api_request(request):
        return error_json_response(status=404, code="not_found", message="Not found.")
    return defaults.page_not_found(request, exception, template_name)


def server_error(request, template_name="500.html"):
    if is_api_request(request):
        return error_json_response(
            status=500,
            code="server_error",
            message="The server failed to handle this request. It has been logged.",
        )
    return defaults.server_error(request, template_name)


def api_not_found(request, *args, **kwargs):
    """The envelope's 404 for any path under /api/ that no view serves."""
    return error_json_response(status=404, code="not_found", message="Not found.")
