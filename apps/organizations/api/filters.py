import django_filters
from rest_framework.exceptions import ValidationError

from apps.access.models import Role
from apps.organizations.models import Membership, Organization


class OrganizationFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Organization
        fields = ("name", "slug")


class MembershipFilter(django_filters.FilterSet):
    role = django_filters.CharFilter(method="filter_role", help_text="A role key.")
    email = django_filters.CharFilter(field_name="user__email", lookup_expr="icontains")

    class Meta:
        model = Membership
        fields = ("role", "email")

    def filter_role(self, queryset, name, value):
        organization = self.request.parser_context["view"].organization
        keys = set(Role.objects.available_to(organization).values_list("key", flat=True))
        if value not in keys:
            choices = ", ".join(sorted(keys))
            message = f'"{value[:50]}" is not a valid choice. Roles here: {choices}.'
            raise ValidationError({"role": [message]})
        return queryset.filter(role__key=value, role__in=Role.objects.available_to(organization))
