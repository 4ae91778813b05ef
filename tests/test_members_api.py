import pytest

from apps.organizations.models import BuiltinRole, Membership

from .factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def members_url(slug="acme"):
    return f"/api/v1/orgs/{slug}/members/"


def member_url(membership, slug="acme"):
    return f"{members_url(slug)}{membership.pk}/"


def test_members_list_shows_users_and_roles(client_for, owner, member_of, organization):
    viewer = member_of(organization, BuiltinRole.VIEWER, email="vera@example.com")
    response = client_for(viewer.user).get(members_url())
    assert response.status_code == 200
    results = response.json()["results"]
    assert {(m["user"]["email"], m["role"]) for m in results} == {
        (owner.user.email, "owner"),
        ("vera@example.com", "viewer"),
    }
    assert "password" not in results[0]["user"]


def test_members_list_filters_by_role_and_email(owner_client, owner, member_of, organization):
    member_of(organization, BuiltinRole.EDITOR, email="ed@example.com")
    member_of(organization, BuiltinRole.VIEWER, email="vi@example.com")
    editors = owner_client.get(members_url(), {"role": "editor"}).json()["results"]
    assert [m["user"]["email"] for m in editors] == ["ed@example.com"]
    by_email = owner_client.get(members_url(), {"email": "VI@"}).json()["results"]
    assert [m["user"]["email"] for m in by_email] == ["vi@example.com"]
    ordered = owner_client.get(members_url(), {"ordering": "-user__email"}).json()["results"]
    emails = [m["user"]["email"] for m in ordered]
    assert emails == sorted([owner.user.email, "ed@example.com", "vi@example.com"], reverse=True)


def test_unknown_role_filter_is_refused(owner_client):
    response = owner_client.get(members_url(), {"role": "superuser"})
    assert response.status_code == 400
    assert "role" in response.json()["error"]["details"]


def test_admin_adds_existing_user_by_email_in_any_case(client_for, member_of, organization):
    admin = member_of(organization, BuiltinRole.ADMIN)
    newcomer = UserFactory(email="new.person@example.com")
    response = client_for(admin.user).post(
        members_url(), {"email": "New.Person@EXAMPLE.com", "role": "editor"}
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["role"] == "editor"
    assert body["user"]["id"] == str(newcomer.pk)
    assert Membership.objects.get(pk=body["id"]).user == newcomer


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"email": "nobody@example.com", "role": "viewer"}, "email", "No active user"),
        ({"email": "not-an-email", "role": "viewer"}, "email", "valid email"),
        ({"email": "x@example.com", "role": "superuser"}, "role", "not a valid choice"),
        ({"role": "viewer"}, "email", "required"),
        ({"email": "x@example.com"}, "role", "required"),
    ],
)
def test_add_member_rejects_bad_input(owner_client, payload, field, message):
    UserFactory(email="x@example.com")
    response = owner_client.post(members_url(), payload)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert message in " ".join(error["details"][field])


def test_adding_an_existing_member_twice_is_refused(owner_client, member_of, organization):
    existing = member_of(organization, BuiltinRole.VIEWER)
    response = owner_client.post(members_url(), {"email": existing.user.email, "role": "editor"})
    assert response.status_code == 400
    assert "already a member" in response.json()["error"]["details"]["email"][0]
    existing.refresh_from_db()
    assert existing.role.key == BuiltinRole.VIEWER


@pytest.mark.parametrize("role", ["editor", "viewer"])
def test_members_without_permission_cannot_add(client_for, member_of, organization, role):
    membership = member_of(organization, role)
    target = UserFactory()
    response = client_for(membership.user).post(
        members_url(), {"email": target.email, "role": "viewer"}
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert not Membership.objects.filter(user=target).exists()


def test_admin_cannot_grant_owner(client_for, member_of, organization):
    admin = member_of(organization, BuiltinRole.ADMIN)
    target = UserFactory()
    response = client_for(admin.user).post(members_url(), {"email": target.email, "role": "owner"})
    assert response.status_code == 403
    assert "cannot give the role 'owner'" in response.json()["error"]["message"]
    viewer = member_of(organization, BuiltinRole.VIEWER)
    promote = client_for(admin.user).patch(member_url(viewer), {"role": "owner"})
    assert promote.status_code == 403
    viewer.refresh_from_db()
    assert viewer.role.key == BuiltinRole.VIEWER


def test_admin_cannot_change_or_remove_an_owner(client_for, member_of, owner, organization):
    member_of(organization, BuiltinRole.OWNER)  # a second Owner, so only authority is in question
    admin = member_of(organization, BuiltinRole.ADMIN)
    client = client_for(admin.user)
    assert client.patch(member_url(owner), {"role": "viewer"}).status_code == 403
    assert client.delete(member_url(owner)).status_code == 403
    owner.refresh_from_db()
    assert owner.role.key == BuiltinRole.OWNER


def test_owner_changes_a_role(owner_client, member_of, organization):
    viewer = member_of(organization, BuiltinRole.VIEWER)
    response = owner_client.patch(member_url(viewer), {"role": "admin"})
    assert response.status_code == 200
    assert response.json()["role"] == "admin"
    viewer.refresh_from_db()
    assert viewer.role.key == BuiltinRole.ADMIN
    put = owner_client.put(member_url(viewer), {"role": "editor"})
    assert put.status_code == 200
    assert put.json()["role"] == "editor"


def test_role_change_takes_effect_on_the_next_request(
    owner_client, client_for, member_of, organization
):
    admin = member_of(organization, BuiltinRole.ADMIN)
    admin_client = client_for(admin.user)
    assert admin_client.patch("/api/v1/orgs/acme/", {"name": "A"}).status_code == 200
    owner_client.patch(member_url(admin), {"role": "viewer"})
    assert admin_client.patch("/api/v1/orgs/acme/", {"name": "B"}).status_code == 403


def test_role_change_rejects_unknown_role(owner_client, member_of, organization):
    viewer = member_of(organization, BuiltinRole.VIEWER)
    response = owner_client.patch(member_url(viewer), {"role": "god"})
    assert response.status_code == 400
    assert "role" in response.json()["error"]["details"]


def test_last_owner_cannot_be_demoted(owner_client, owner):
    response = owner_client.patch(member_url(owner), {"role": "admin"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "last_owner"
    owner.refresh_from_db()
    assert owner.role.key == BuiltinRole.OWNER


def test_last_owner_cannot_leave_or_be_removed(owner_client, owner):
    response = owner_client.delete(member_url(owner))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "last_owner"
    assert Membership.objects.filter(pk=owner.pk).exists()


def test_an_owner_can_step_down_when_another_owner_remains(
    owner_client, owner, member_of, organization
):
    member_of(organization, BuiltinRole.OWNER)
    assert owner_client.patch(member_url(owner), {"role": "viewer"}).status_code == 200
    owner.refresh_from_db()
    assert owner.role.key == BuiltinRole.VIEWER


def test_any_member_can_leave(client_for, member_of, organization, owner):
    viewer = member_of(organization, BuiltinRole.VIEWER)
    client = client_for(viewer.user)
    other_viewer = member_of(organization, BuiltinRole.VIEWER)
    assert client.delete(member_url(other_viewer)).status_code == 403
    assert client.delete(member_url(viewer)).status_code == 204
    assert not Membership.objects.filter(pk=viewer.pk).exists()
    assert client.get(members_url()).status_code == 404


def test_admin_removes_a_member(client_for, member_of, organization):
    admin = member_of(organization, BuiltinRole.ADMIN)
    editor = member_of(organization, BuiltinRole.EDITOR)
    assert client_for(admin.user).delete(member_url(editor)).status_code == 204
    assert not Membership.objects.filter(pk=editor.pk).exists()


def test_membership_of_another_organization_is_404(owner_client, other_organization):
    foreign = MembershipFactory(organization=other_organization, role=BuiltinRole.VIEWER)
    for method in ("get", "patch", "delete"):
        response = getattr(owner_client, method)(member_url(foreign), {"role": "owner"})
        assert response.status_code == 404
    foreign.refresh_from_db()
    assert foreign.role.key == BuiltinRole.VIEWER
    # Nor can it be reached through the other organization's URL.
    assert owner_client.get(member_url(foreign, slug="globex")).status_code == 404


def test_malformed_member_id_is_404(owner_client):
    response = owner_client.get(f"{members_url()}123/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_non_member_cannot_see_members(client_for, member_of, other_organization, organization):
    outsider = member_of(other_organization, BuiltinRole.OWNER).user
    response = client_for(outsider).get(members_url())
    assert response.status_code == 404
