import django_filters

from apps.apikeys.models import ApiKey


class ApiKeyFilter(django_filters.FilterSet):
    # Not BooleanFilter: it ignores a value it cannot read instead of refusing it.
    revoked = django_filters.TypedChoiceFilter(
        choices=(("true", "true"), ("false", "false")), coerce=lambda value: value == "true"
    )
    created_by = django_filters.UUIDFilter(field_name="created_by", label="Keys of this user.")

    class Meta:
        model = ApiKey
        fields = ("revoked", "created_by")
