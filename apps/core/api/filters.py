from rest_framework.exceptions import ValidationError
from rest_framework.filters import OrderingFilter


class StrictOrderingFilter(OrderingFilter):
    """Ordering that refuses unknown fields with a 400 instead of ignoring them.

    A view lists what may be ordered by in `ordering_fields`; a client asking
    for anything else learns so, rather than getting silently unordered data.
    """

    def get_ordering(self, request, queryset, view):
        params = request.query_params.get(self.ordering_param)
        if not params:
            return self.get_default_ordering(view)
        requested = [param.strip() for param in params.split(",") if param.strip()]
        allowed = {
            name for name, _label in self.get_valid_fields(queryset, view, {"request": request})
        }
        unknown = [term for term in requested if term.lstrip("-") not in allowed]
        if unknown:
            raise ValidationError(
                {
                    self.ordering_param: [
                        f"Cannot order by {', '.join(unknown)}. "
                        f"Choose from: {', '.join(sorted(allowed))}."
                    ]
                }
            )
        return requested
