import factory

from apps.access.roles import builtin_role
from apps.accounts.models import User
from apps.organizations.models import BuiltinRole, Membership, Organization

TEST_PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    display_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Organization {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    """A membership; `role` may be given as a built-in key ("editor") or a Role."""

    class Meta:
        model = Membership

    organization = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory)
    role = BuiltinRole.VIEWER

    @classmethod
    def _adjust_kwargs(cls, **kwargs):
        if isinstance(kwargs.get("role"), str):
            kwargs["role"] = builtin_role(kwargs["role"])
        return kwargs
