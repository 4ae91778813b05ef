from rest_framework import serializers

from apps.access import catalog, policy


class OrganizationScopedRelatedField(serializers.PrimaryKeyRelatedField):
    """A reference, by id, to another object of the organization in the URL.

    Objects of other organizations, and objects the caller may not read, are not
    found, exactly like ids that do not exist, so a request body cannot reach (or
    probe for) data the caller cannot see.
    """

    default_error_messages = {
        "does_not_exist": 'No object with id "{pk_value}" exists in this organization.',
        "incorrect_type": "Expected an id (UUID), got {data_type}.",
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("pk_field", serializers.UUIDField())
        super().__init__(**kwargs)

    def get_queryset(self):
        queryset = super().get_queryset()
        view = self.context.get("view")
        if view is None or getattr(view, "swagger_fake_view", False):
            return queryset.none()
        resource = catalog.resource_of_model(queryset.model)
        if resource is None:
            return queryset.filter(organization=view.organization)
        # Only what the caller may read can be referenced (and named back in responses).
        return policy.visible(queryset, view.member_access, resource)
