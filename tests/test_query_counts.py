"""Lists cost the same number of queries whatever the page size."""

import pytest

from apps.access.roles import builtin_role
from apps.organizations.models import BuiltinRole, Membership

from .factories import MembershipFactory, OrganizationFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("rows", [5, 50])
def test_organization_list_queries_are_constant(
    client_for, member_of, rows, django_assert_max_num_queries
):
    user = member_of(OrganizationFactory(), BuiltinRole.OWNER).user
    for organization in OrganizationFactory.create_batch(rows - 1):
        Membership.objects.create(
            organization=organization, user=user, role=builtin_role(BuiltinRole.VIEWER)
        )
        MembershipFactory.create_batch(2, organization=organization)
    client = client_for(user)
    with django_assert_max_num_queries(3):
        response = client.get("/api/v1/orgs/", {"page_size": 200})
    assert len(response.json()["results"]) == rows


@pytest.mark.parametrize("rows", [5, 50])
def test_member_list_queries_are_constant(
    owner_client, organization, rows, django_assert_max_num_queries
):
    MembershipFactory.create_batch(rows - 1, organization=organization)
    with django_assert_max_num_queries(4):
        response = owner_client.get("/api/v1/orgs/acme/members/", {"page_size": 200})
    assert len(response.json()["results"]) == rows
