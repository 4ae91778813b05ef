from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.audit.models import AuditEntry


class AuditEntrySerializer(serializers.ModelSerializer):
    """One entry, as the list and the detail show it (exports flatten it: apps.audit.export)."""

    action = serializers.CharField(source="event")
    object_id = serializers.CharField(source="object_pk")
    data = serializers.JSONField(source="additional_data")
    actor = serializers.SerializerMethodField()
    api_key = serializers.SerializerMethodField()
    ip = serializers.CharField(source="remote_addr")
    request_id = serializers.CharField(source="cid")

    class Meta:
        model = AuditEntry
        fields = (
            "id",
            "seq",
            "timestamp",
            "action",
            "resource_type",
            "object_id",
            "object_repr",
            "changes",
            "data",
            "actor",
            "api_key",
            "ip",
            "user_agent",
            "request_id",
            "task",
            "prev_hash",
            "hash",
        )
        read_only_fields = fields

    @extend_schema_field(
        {
            "type": "object",
            "nullable": True,
            "properties": {"id": {"type": "string"}, "email": {"type": "string"}},
        }
    )
    def get_actor(self, entry):
        if entry.actor_id is None:
            return None
        return {"id": str(entry.actor_id), "email": entry.actor_email or ""}

    @extend_schema_field(
        {
            "type": "object",
            "nullable": True,
            "properties": {"id": {"type": "string"}, "prefix": {"type": "string"}},
        }
    )
    def get_api_key(self, entry):
        if entry.api_key_id is None:
            return None
        return {"id": str(entry.api_key_id), "prefix": entry.api_key_prefix}
