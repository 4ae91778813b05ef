import pytest

from apps.access.roles import builtin_role
from apps.organizations.models import BuiltinRole, Membership, Organization

from .factories import OrganizationFactory

pytestmark = pytest.mark.django_db

ORGS = "/api/v1/orgs/"


def org_url(slug):
    return f"{ORGS}{slug}/"


def test_anonymous_caller_cannot_list_organizations(api_client):
    response = api_client.get(ORGS)
    assert response.status_code in (401, 403)
    assert response.json()["error"]["code"] == "not_authenticated"


def test_creator_becomes_owner_and_slug_is_derived_from_name(client_for, member_of, organization):
    user = member_of(organization).user
    response = client_for(user).post(ORGS, {"name": "Initech Labs"})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["slug"] == "initech-labs"
    assert body["role"] == "owner"
    assert body["member_count"] == 1
    created = Organization.objects.get(slug="initech-labs")
    assert str(created.id) == body["id"]
    assert Membership.objects.get(organization=created, user=user).role.key == BuiltinRole.OWNER


def test_derived_slug_turns_underscores_into_hyphens(owner_client):
    response = owner_client.post(ORGS, {"name": "my_org"})
    assert response.status_code == 201
    assert response.json()["slug"] == "my-org"


def test_derived_slug_never_collides(owner_client, organization):
    first = owner_client.post(ORGS, {"name": "Acme"}).json()
    assert first["slug"] == "acme-2"


def test_explicit_slug_is_validated(owner_client, organization):
    taken = owner_client.post(ORGS, {"name": "X", "slug": "acme"})
    assert taken.status_code == 400
    assert "slug" in taken.json()["error"]["details"]

    malformed = owner_client.post(ORGS, {"name": "X", "slug": "Not A Slug!"})
    assert malformed.status_code == 400
    assert malformed.json()["error"]["code"] == "validation_error"
    assert "slug" in malformed.json()["error"]["details"]

    reserved = owner_client.post(ORGS, {"name": "X", "slug": "admin"})
    assert reserved.status_code == 400
    assert "reserved" in reserved.json()["error"]["details"]["slug"][0]


def test_name_is_required_and_bounded(owner_client):
    missing = owner_client.post(ORGS, {})
    assert missing.status_code == 400
    assert missing.json()["error"]["details"]["name"] == ["This field is required."]

    too_long = owner_client.post(ORGS, {"name": "x" * 101})
    assert too_long.status_code == 400
    assert "name" in too_long.json()["error"]["details"]

    wrong_type = owner_client.post(ORGS, {"name": {"nested": True}})
    assert wrong_type.status_code == 400
    assert "name" in wrong_type.json()["error"]["details"]


def test_list_shows_only_my_organizations_with_my_role(client_for, member_of, organization):
    other = OrganizationFactory(slug="other")
    membership = member_of(organization, BuiltinRole.EDITOR)
    member_of(other, BuiltinRole.OWNER)

    response = client_for(membership.user).get(ORGS)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    assert [(org["slug"], org["role"]) for org in body["results"]] == [("acme", "editor")]


def test_list_filters_and_orders(client_for, member_of):
    user = member_of(OrganizationFactory(name="Zeta", slug="zeta"), BuiltinRole.OWNER).user
    for name, slug in (("Alpha", "alpha"), ("Beta", "beta")):
        Membership.objects.create(
            organization=OrganizationFactory(name=name, slug=slug),
            user=user,
            role=builtin_role(BuiltinRole.VIEWER),
        )
    client = client_for(user)

    assert [o["slug"] for o in client.get(ORGS).json()["results"]] == ["alpha", "beta", "zeta"]
    descending = client.get(ORGS, {"ordering": "-name"}).json()["results"]
    assert [o["slug"] for o in descending] == ["zeta", "beta", "alpha"]
    filtered = client.get(ORGS, {"name": "ET"}).json()["results"]
    assert [o["slug"] for o in filtered] == ["beta", "zeta"]


def test_unknown_ordering_field_is_refused(owner_client):
    response = owner_client.get(ORGS, {"ordering": "password"})
    assert response.status_code == 400
    assert "ordering" in response.json()["error"]["details"]


def test_page_size_defaults_to_50_and_goes_up_to_200(client_for, member_of):
    user = member_of(OrganizationFactory(), BuiltinRole.OWNER).user
    Membership.objects.bulk_create(
        Membership(organization=org, user=user, role=builtin_role(BuiltinRole.VIEWER))
        for org in OrganizationFactory.create_batch(210)
    )
    client = client_for(user)
    assert len(client.get(ORGS).json()["results"]) == 50
    page = client.get(ORGS, {"page_size": 200}).json()
    assert page["count"] == 211
    assert len(page["results"]) == 200
    too_large = client.get(ORGS, {"page_size": 500})
    assert too_large.status_code == 400
    assert too_large.json()["error"]["details"] == {"page_size": ["A whole number from 1 to 200."]}
    past_the_end = client.get(ORGS, {"page": 99})
    assert past_the_end.status_code == 404
    assert past_the_end.json()["error"]["message"] == "Invalid page."


def test_member_reads_organization_with_its_member_count(client_for, member_of, organization):
    viewer = member_of(organization, BuiltinRole.VIEWER)
    member_of(organization, BuiltinRole.OWNER)
    member_of(organization, BuiltinRole.EDITOR)
    client = client_for(viewer.user)
    response = client.get(org_url("acme"))
    assert response.status_code == 200
    assert response.json()["name"] == "Acme"
    assert response.json()["role"] == "viewer"
    assert response.json()["member_count"] == 3
    listed = client.get(ORGS).json()["results"]
    assert [(o["slug"], o["role"], o["member_count"]) for o in listed] == [("acme", "viewer", 3)]


def test_non_member_gets_404_exactly_like_a_missing_organization(
    client_for, member_of, organization, other_organization
):
    outsider = member_of(other_organization, BuiltinRole.OWNER).user
    client = client_for(outsider)
    for method in ("get", "patch", "put", "delete"):
        forbidden = getattr(client, method)(org_url("acme"), {"name": "Hacked"})
        missing = getattr(client, method)(org_url("does-not-exist"), {"name": "Hacked"})
        assert forbidden.status_code == missing.status_code == 404
        assert forbidden.json()["error"]["code"] == missing.json()["error"]["code"] == "not_found"
    organization.refresh_from_db()
    assert organization.name == "Acme"


@pytest.mark.parametrize(
    ("role", "expected"),
    [("owner", 200), ("admin", 200), ("editor", 403), ("viewer", 403)],
)
def test_update_organization_needs_update_permission(
    client_for, member_of, organization, role, expected
):
    membership = member_of(organization, role)
    response = client_for(membership.user).patch(org_url("acme"), {"name": "Acme Corp"})
    assert response.status_code == expected
    organization.refresh_from_db()
    assert (organization.name == "Acme Corp") is (expected == 200)


def test_slug_can_be_changed_but_not_to_a_taken_one(owner_client, organization, other_organization):
    taken = owner_client.patch(org_url("acme"), {"slug": "globex"})
    assert taken.status_code == 400
    assert "slug" in taken.json()["error"]["details"]

    moved = owner_client.patch(org_url("acme"), {"slug": "acme-corp"})
    assert moved.status_code == 200
    assert owner_client.get(org_url("acme-corp")).status_code == 200
    assert owner_client.get(org_url("acme")).status_code == 404


def test_put_replaces_the_name(owner_client, organization):
    response = owner_client.put(org_url("acme"), {"name": "Acme Two"})
    assert response.status_code == 200
    assert response.json()["name"] == "Acme Two"
    assert response.json()["slug"] == "acme"


@pytest.mark.parametrize(("role", "expected"), [("admin", 403), ("editor", 403), ("viewer", 403)])
def test_only_owner_deletes_organization(client_for, member_of, organization, role, expected):
    membership = member_of(organization, role)
    assert client_for(membership.user).delete(org_url("acme")).status_code == expected
    assert Organization.objects.filter(pk=organization.pk).exists()


def test_owner_deletes_organization_with_its_memberships(owner_client, organization, member_of):
    member_of(organization, BuiltinRole.VIEWER)
    response = owner_client.delete(org_url("acme"))
    assert response.status_code == 204
    assert not Organization.objects.filter(pk=organization.pk).exists()
    assert not Membership.objects.filter(organization_id=organization.pk).exists()


def test_deleting_an_organization_removes_its_stored_files(
    owner_client, organization, other_organization, django_capture_on_commit_callbacks
):
    from django.core.files.base import ContentFile

    from apps.finetuning.models import FineTuningJob

    mine = FineTuningJob.objects.create(
        organization=organization,
        base_model="base",
        training_file=ContentFile(b'{"messages": []}\n', name="train.jsonl"),
    )
    theirs = FineTuningJob.objects.create(
        organization=other_organization,
        base_model="base",
        training_file=ContentFile(b'{"messages": []}\n', name="train.jsonl"),
    )
    storage = mine.training_file.storage
    assert storage.exists(mine.training_file.name)

    with django_capture_on_commit_callbacks(execute=True):
        assert owner_client.delete(org_url("acme")).status_code == 204

    assert not storage.exists(mine.training_file.name)
    assert storage.exists(theirs.training_file.name)
