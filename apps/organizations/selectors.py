from django.db.models import Count, OuterRef, QuerySet, Subquery

from apps.accounts.models import User

from .models import Membership, Organization


def organization_list_for_user(*, user: User) -> QuerySet[Organization]:
    """The organizations `user` belongs to, each annotated with the user's role there."""
    my_role = Membership.objects.filter(organization=OuterRef("pk"), user=user).values("role__key")[
        :1
    ]
    # Filtering through a subquery, not a join, so the count sees every membership.
    mine = Membership.objects.filter(user=user).values("organization_id")
    return (
        Organization.objects.filter(pk__in=mine)
        .annotate(my_role=Subquery(my_role), member_count=Count("memberships"))
        .order_by("name", "slug")
    )


def membership_list(*, organization: Organization) -> QuerySet[Membership]:
    return Membership.objects.filter(organization=organization).select_related("user", "role")
