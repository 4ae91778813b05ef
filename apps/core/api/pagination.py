"""Pagination of API lists: a page size or page number out of range is a 400, never ignored.

DRF quietly replaces a bad `?page_size=` with the default or the maximum, and
answers a malformed `?page=` with a 404; a client then reads a page it did not
ask for, or cannot tell a typo from the end of the list. Here both are a 400
naming the parameter; only a well-formed page past the end is DRF's 404.
"""

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination

# Larger than any page or page size; longer digit strings read as this (and `int()`
# refuses strings of more than 4,300 digits).
_HUGE = 10**18


def whole_number(raw: str) -> int | None:
    """`raw` as an int if it is ASCII digits only (no sign, space, decimal point or exponent)."""
    if not raw or not raw.isascii() or not raw.isdigit():
        return None
    digits = raw.lstrip("0")
    return _HUGE if len(digits) > 18 else int(digits or "0")


def raise_for(*errors: dict) -> None:
    """Raise one 400 naming every parameter of `errors` that is wrong, if any is."""
    merged = {name: messages for error in errors for name, messages in error.items()}
    if merged:
        raise ValidationError(merged)


class PageSizeInRange:
    """`?page_size=` from 1 to `max_page_size`; empty or absent means `page_size`."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def page_size_errors(self, request) -> dict:
        raw = request.query_params.get(self.page_size_query_param, "")
        size = whole_number(raw)
        if raw and (size is None or not 1 <= size <= self.max_page_size):
            message = f"A whole number from 1 to {self.max_page_size}."
            return {self.page_size_query_param: [message]}
        return {}

    def get_page_size(self, request) -> int:
        raise_for(self.page_size_errors(request))
        raw = request.query_params.get(self.page_size_query_param, "")
        return whole_number(raw) if raw else self.page_size

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {
                    **parameter["schema"],
                    "minimum": 1,
                    "maximum": self.max_page_size,
                }
        return parameters


class StandardPagination(PageSizeInRange, PageNumberPagination):
    """Pages of 50 by default; `?page_size=` from 1 to 200, `?page=` from 1 (or `last`)."""

    def page_errors(self, request) -> dict:
        raw = request.query_params.get(self.page_query_param, "")
        if raw and raw not in self.last_page_strings and not whole_number(raw):
            return {self.page_query_param: ['A whole number from 1, or "last".']}
        return {}

    def paginate_queryset(self, queryset, request, view=None):
        raise_for(self.page_size_errors(request), self.page_errors(request))
        return super().paginate_queryset(queryset, request, view=view)

    def get_page_number(self, request, paginator):
        raw = request.query_params.get(self.page_query_param, "")
        if raw in self.last_page_strings:
            return paginator.num_pages
        return whole_number(raw) if raw else 1
