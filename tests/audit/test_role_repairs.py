"""A repair of a built-in role by seed_roles is a security event of the platform."""

import io

import pytest
from django.core.management import call_command

from apps.access import catalog
from apps.access.roles import builtin_role, catalog_permissions
from apps.audit import events

from .conftest import recorded

pytestmark = pytest.mark.django_db


def test_seed_roles_records_each_repaired_role_in_the_platform_chain():
    permissions = catalog_permissions()
    viewer = builtin_role("viewer")
    viewer.group.permissions.add(permissions["audit_logs:read"])

    call_command("seed_roles", stdout=io.StringIO())

    # The tampering above is recorded too (any change of a role's permissions is), then the repair.
    tampered, entry = recorded(event=events.ROLE_PERMISSIONS_CHANGED)
    assert tampered.changes == {
        "permissions": {"type": "m2m", "added": ["audit_logs:read"], "removed": []}
    }
    assert entry.changes == {
        "permissions": {"type": "m2m", "added": [], "removed": ["audit_logs:read"]}
    }
    assert entry.organization_id is None
    assert entry.object_pk == str(viewer.pk)
    assert entry.additional_data == {"role": "viewer", "added": [], "removed": ["audit_logs:read"]}


def test_seed_roles_with_nothing_to_repair_records_nothing():
    assert set(catalog.BUILTIN_ROLE_PERMISSIONS) == {"owner", "admin", "editor", "viewer"}

    call_command("seed_roles", stdout=io.StringIO())

    assert recorded(event=events.ROLE_PERMISSIONS_CHANGED) == []
