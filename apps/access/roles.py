"""The built-in roles: Django groups seeded from `catalog.BUILTIN_ROLE_PERMISSIONS`."""

import contextlib

from django.apps import apps as global_apps

from . import catalog

BUILTIN_ROLE_NAMES = {
    catalog.OWNER: "Owner",
    catalog.ADMIN: "Admin",
    catalog.EDITOR: "Editor",
    catalog.VIEWER: "Viewer",
}
BUILTIN_ROLE_DESCRIPTIONS = {
    catalog.OWNER: "Everything, including deleting the organization and transferring ownership.",
    catalog.ADMIN: "Everything but deleting the organization and changing Owners.",
    catalog.EDITOR: "Works on all content; reads members; creates and revokes their own API keys.",
    catalog.VIEWER: "Reads content and members; nothing else.",
}


def builtin_group_name(key: str) -> str:
    return f"role:{key}"


def builtin_role(key: str):
    """The built-in role with this key (owner, admin, editor or viewer)."""
    Role = global_apps.get_model("access", "Role")
    return Role.objects.get(organization__isnull=True, key=key)


def check_role_available(role, *, organization_id) -> None:
    """Refuse (400 on `role`) a role members of that organization cannot hold."""
    from django.core.exceptions import ValidationError

    if not (role.organization_id is None or role.organization_id == organization_id):
        raise ValidationError({"role": ["This role does not exist in this organization."]})


def catalog_permissions(apps=global_apps, *, create: bool = False):
    """The Permission rows of every `resource:action`, by name, in one query.

    `create` first makes any that are missing (migrations and seed_roles do; a
    request only reads them, since creating walks every model of the apps).
    """
    if create:
        _create_catalog_permissions(apps)
    Permission = apps.get_model("auth", "Permission")
    rows = {}
    candidates = Permission.objects.filter(codename__in=catalog.ALL_PERMISSIONS).select_related(
        "content_type"
    )
    for permission in candidates:
        content_type = permission.content_type
        label = f"{content_type.app_label}.{content_type.model}"
        if catalog.RESOURCE_MODELS[catalog.resource_of(permission.codename)].lower() == label:
            rows[permission.codename] = permission
    missing = catalog.ALL_PERMISSIONS - set(rows)
    if missing:
        raise RuntimeError(f"Permissions missing from the database: {sorted(missing)}")
    return rows


def _create_catalog_permissions(apps) -> None:
    from django.contrib.auth.management import create_permissions

    for app_label in sorted(
        {label.partition(".")[0] for label in catalog.RESOURCE_MODELS.values()}
    ):
        app_config = apps.get_app_config(app_label)
        # A migration's app registry has no models module, which create_permissions requires.
        stub = getattr(app_config, "models_module", None) is None
        if stub:
            app_config.models_module = True
        try:
            create_permissions(app_config, verbosity=0, apps=apps)
        finally:
            if stub:
                app_config.models_module = None


def sync_builtin_roles(apps=global_apps) -> list[str]:
    """Create the built-in roles, or repair their permissions; returns what changed.

    Idempotent: a second run changes nothing and returns an empty list.
    """
    Group = apps.get_model("auth", "Group")
    Role = apps.get_model("access", "Role")
    permissions = catalog_permissions(apps, create=True)
    changes = []
    for key, wanted in catalog.BUILTIN_ROLE_PERMISSIONS.items():
        role = (
            Role.objects.select_related("group").filter(organization__isnull=True, key=key).first()
        )
        is_repair = role is not None
        if is_repair:
            # The role's own group, even if staff renamed it.
            group, group_created = role.group, False
        else:
            group, group_created = Group.objects.get_or_create(name=builtin_group_name(key))
            role = Role(
                key=key,
                name=BUILTIN_ROLE_NAMES[key],
                description=BUILTIN_ROLE_DESCRIPTIONS[key],
                group=group,
            )
        # One audit entry per role: its creation or repair with the permissions it got.
        with _one_audit_entry(role, apps) as entry:
            if not is_repair:
                role.save()
                changes.append(f"created role {key}")
            held = set(
                group.permissions.filter(codename__contains=":").values_list("codename", flat=True)
            )
            added, removed = sorted(wanted - held), sorted(held - wanted)
            if added:
                group.permissions.add(*(permissions[name] for name in added))
                if not group_created:
                    changes.append(f"{key}: added {', '.join(added)}")
            if removed:
                group.permissions.remove(*group.permissions.filter(codename__in=removed))
                changes.append(f"{key}: removed {', '.join(removed)}")
            if entry is not None and is_repair and (added or removed):
                # A repair of a built-in role changes what every Owner, Admin, … may do.
                from apps.audit.events import ROLE_PERMISSIONS_CHANGED

                entry.event = ROLE_PERMISSIONS_CHANGED
                entry.data = {"role": key, "added": added, "removed": removed}
    return changes


def _one_audit_entry(role, apps):
    """`one_entry(role)`, except in migrations (their historical models are not audited)."""
    if apps is not global_apps:
        return contextlib.nullcontext()
    from apps.audit.recording import one_entry

    return one_entry(role)
