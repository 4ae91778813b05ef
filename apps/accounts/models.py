from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower

from apps.audit.querysets import AuditedQuerySet
from apps.core.models import TimeStampedModel, UUIDPrimaryKeyModel


def normalize_email_address(email: str) -> str:
    """The canonical form of an address: trimmed and lower-cased as a whole.

    Addresses are logins here, and `Alice@Example.com` and `alice@example.com`
    must be one account.
    """
    return (email or "").strip().lower()


class UserManager(BaseUserManager.from_queryset(AuditedQuerySet)):
    use_in_migrations = True

    def get_by_natural_key(self, username):
        return self.get(email=normalize_email_address(username))

    def _create(self, email: str, password: str | None, **fields):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=normalize_email_address(email), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **fields):
        fields.setdefault("is_staff", False)
        fields.setdefault("is_superuser", False)
        return self._create(email, password, **fields)

    def create_superuser(self, email: str, password: str | None = None, **fields):
        fields["is_staff"] = True
        fields["is_superuser"] = True
        return self._create(email, password, **fields)


class User(UUIDPrimaryKeyModel, TimeStampedModel, AbstractBaseUser, PermissionsMixin):
    """A person who signs in with their email address."""

    email = models.EmailField("email address", max_length=254, unique=True)
    display_name = models.CharField(max_length=150, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(
        default=False, help_text="Whether the user can sign in to the admin site."
    )

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["email"]
        constraints = [
            # Addresses are stored lower-cased; this guards writes that bypass save().
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
        ]

    def __str__(self):
        return self.email

    def clean(self):
        super().clean()
        self.email = normalize_email_address(self.email)

    def save(self, *args, **kwargs):
        self.email = normalize_email_address(self.email)
        super().save(*args, **kwargs)

    def has_perm(self, perm, obj=None):
        # An organization permission ("agents.agents:read") is answered by membership and
        # grants alone: no superuser shortcut, and no answer without an object.
        if ":" in perm.partition(".")[2]:
            from apps.access.backends import OrganizationPermissionBackend

            return self.is_active and OrganizationPermissionBackend().has_perm(self, perm, obj)
        return super().has_perm(perm, obj)

    def get_full_name(self):
        return self.display_name or self.email

    def get_short_name(self):
        return self.display_name or self.email
