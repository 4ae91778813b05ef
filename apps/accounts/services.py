from django.db import transaction

from .models import User


@transaction.atomic
def user_update_profile(*, user: User, display_name: str | None = None) -> User:
    """Change what a user may change of their own profile."""
    if display_name is not None:
        user.display_name = display_name
        user.save(update_fields=["display_name", "updated_at"])
    return user
