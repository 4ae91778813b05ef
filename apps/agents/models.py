from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from apps.access import catalog
from apps.access.models import RoleGrantBase, UserGrantBase
from apps.organizations.models import OrganizationOwnedModel


class Agent(OrganizationOwnedModel):
    """A configured model: its prompt, sampling settings, tools and knowledge."""

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, max_length=4000)
    model_name = models.CharField(max_length=100)
    system_prompt = models.TextField(blank=True, max_length=100_000)
    temperature = models.DecimalField(
        max_digits=3,
        decimal_places=2,
        default=Decimal("0.70"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("2"))],
    )
    max_output_tokens = models.PositiveIntegerField(
        default=1024, validators=[MinValueValidator(1), MaxValueValidator(200_000)]
    )
    tools = models.ManyToManyField("tools.Tool", blank=True, related_name="agents")
    knowledge_bases = models.ManyToManyField(
        "knowledge.KnowledgeBase", blank=True, related_name="agents"
    )
    is_active = models.BooleanField(default=True)

    class Meta(OrganizationOwnedModel.Meta):
        permissions = catalog.model_permissions("agents")
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="agents_agent_unique_name"
            ),
        ]

    def __str__(self):
        return self.name


class AgentUserGrant(UserGrantBase):
    """An action on one agent granted to one member."""

    content_object = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="user_grants")


class AgentRoleGrant(RoleGrantBase):
    """An action on one agent granted to every member holding a role."""

    content_object = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="role_grants")
