from django import forms
from django.contrib import admin, messages

from apps.core.exceptions import ConflictError
from apps.organizations.admin_base import OrganizationOwnedAdmin

from . import services
from .definition import validate_definition
from .models import Workflow, WorkflowRun


class WorkflowAdminForm(forms.ModelForm):
    class Meta:
        model = Workflow
        fields = ("organization", "name", "description", "definition", "is_active", "created_by")

    def clean_definition(self):
        definition = self.cleaned_data["definition"]
        errors = validate_definition(definition)
        if errors:
            raise forms.ValidationError(errors)
        return definition


@admin.register(Workflow)
class WorkflowAdmin(OrganizationOwnedAdmin):
    form = WorkflowAdminForm
    list_display = ("name", "organization", "is_active", "created_by", "created_at", "updated_at")
    list_filter = ("is_active",)
    search_fields = ("name", "description", "organization__slug")
    list_select_related = ("organization", "created_by")
    raw_id_fields = ("organization", "created_by")
    readonly_fields = ("created_at", "updated_at")

    def delete_model(self, request, obj):
        # Through the service, which refuses while a run is queued or running.
        try:
            services.workflow_delete(workflow=obj)
        except ConflictError as exc:
            self.message_user(request, f"{obj}: {exc.message}", messages.ERROR)

    def delete_queryset(self, request, queryset):
        for workflow in queryset:
            self.delete_model(request, workflow)


@admin.action(description="Cancel the selected runs")
def cancel_runs(modeladmin, request, queryset):
    cancelled = 0
    for run in queryset:
        try:
            services.workflow_run_cancel(run=run, acting_user=request.user)
            cancelled += 1
        except ConflictError as exc:
            modeladmin.message_user(request, f"{run.pk}: {exc.message}", messages.WARNING)
    modeladmin.message_user(request, f"Cancelled (or asked to stop) {cancelled} run(s).")


@admin.register(WorkflowRun)
class WorkflowRunAdmin(OrganizationOwnedAdmin):
    """Runs are written by the engine only: the admin shows them and can cancel them."""

    list_display = (
        "id",
        "workflow",
        "organization",
        "status",
        "failed_step",
        "created_at",
        "started_at",
        "finished_at",
    )
    list_filter = ("status",)
    search_fields = ("=id", "workflow__name", "organization__slug", "failed_step")
    list_select_related = ("workflow", "organization")
    actions = (cancel_runs,)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        # Only finished runs: deleting an active one would pull it from under its worker.
        return obj is None or obj.is_finished

    def delete_queryset(self, request, queryset):
        queryset.filter(status__in=WorkflowRun.FINISHED_STATUSES).delete()
