from django import forms
from django.contrib import admin

from apps.organizations.admin_base import OrganizationOwnedAdmin

from .models import Agent


class AgentAdminForm(forms.ModelForm):
    """The admin's agent form, which keeps an agent's tools and knowledge in its organization."""

    class Meta:
        model = Agent
        fields = (
            "organization",
            "name",
            "description",
            "model_name",
            "system_prompt",
            "temperature",
            "max_output_tokens",
            "tools",
            "knowledge_bases",
            "is_active",
            "created_by",
        )

    def clean(self):
        cleaned = super().clean()
        organization = cleaned.get("organization")
        if organization is None:
            return cleaned
        for field in ("tools", "knowledge_bases"):
            foreign = [
                obj for obj in cleaned.get(field) or () if obj.organization_id != organization.pk
            ]
            if foreign:
                names = ", ".join(sorted(str(obj) for obj in foreign))
                self.add_error(field, f"Not of the organization {organization}: {names}.")
        return cleaned


@admin.register(Agent)
class AgentAdmin(OrganizationOwnedAdmin):
    form = AgentAdminForm
    list_display = ("name", "organization", "model_name", "is_active", "created_at")
    list_filter = ("is_active", "model_name")
    search_fields = (
        "name",
        "description",
        "model_name",
        "organization__slug",
        "organization__name",
    )
    list_select_related = ("organization",)
    autocomplete_fields = ("organization", "created_by")
    filter_horizontal = ("tools", "knowledge_bases")
    readonly_fields = ("id", "created_at", "updated_at")
