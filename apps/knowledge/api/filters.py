import django_filters

from apps.knowledge.models import Document, KnowledgeBase


class KnowledgeBaseFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = KnowledgeBase
        fields = ("name",)


class DocumentFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")
    status = django_filters.ChoiceFilter(choices=Document.Status.choices)

    class Meta:
        model = Document
        fields = ("name", "status")
