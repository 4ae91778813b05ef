from django.contrib import admin, messages

from apps.core.exceptions import ConflictError
from apps.organizations.admin_base import OrganizationOwnedAdmin

from . import services
from .models import FineTuningJob


@admin.register(FineTuningJob)
class FineTuningJobAdmin(OrganizationOwnedAdmin):
    """Jobs are read here; they are created through the API, which queues their run."""

    list_display = (
        "id",
        "base_model",
        "organization",
        "status",
        "provider",
        "created_by",
        "created_at",
        "finished_at",
    )
    list_filter = ("status", "provider")
    search_fields = ("=id", "base_model", "training_file_name", "organization__slug")
    list_select_related = ("organization", "created_by")
    date_hierarchy = "created_at"
    actions = ("cancel_jobs",)
    fields = (
        "id",
        "organization",
        "created_by",
        "base_model",
        "training_file_name",
        "hyperparameters",
        "provider",
        "status",
        "validation_stats",
        "result",
        "error",
        "created_at",
        "updated_at",
        "started_at",
        "finished_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        # Only a finished job may go; an active one is cancelled first.
        has_permission = super().has_delete_permission(request, obj)
        return has_permission and (obj is None or obj.is_finished)

    def get_actions(self, request):
        actions = super().get_actions(request)
        # The bulk delete would skip the service and leave the training files behind.
        actions.pop("delete_selected", None)
        return actions

    def delete_model(self, request, obj):
        services.finetuning_job_delete(job=obj)

    @admin.action(description="Cancel the selected jobs", permissions=["cancel"])
    def cancel_jobs(self, request, queryset):
        jobs = list(queryset.select_related("organization"))
        cancelled = 0
        for job in jobs:
            try:
                services.finetuning_job_cancel(job=job, cancelled_by=request.user)
            except ConflictError:
                continue
            cancelled += 1
        self.message_user(
            request,
            f"Cancelled {cancelled} job(s); {len(jobs) - cancelled} had already finished.",
            messages.SUCCESS,
        )

    def has_cancel_permission(self, request):
        return request.user.has_perm("finetuning.change_finetuningjob")
