from .request_id import REQUEST_ID_HEADER, reset_request_id, resolve_request_id, set_request_id


class RequestIdMiddleware:
    """Give every request an id and return it in the `X-Request-ID` response header.

    It runs first, so that every response, including error pages produced by
    later middleware, carries the header.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = resolve_request_id(request.headers.get(REQUEST_ID_HEADER))
        request.request_id = request_id
        token = set_request_id(request_id)
        try:
            response = self.get_response(request)
        finally:
            reset_request_id(token)
        response[REQUEST_ID_HEADER] = request_id
        return response
