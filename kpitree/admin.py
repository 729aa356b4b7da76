from __future__ import annotations

from django.contrib import admin

from kpitree.models import AttainmentAlert, MetricNode, MetricTree, Target


class MetricNodeInline(admin.TabularInline):
    model = MetricNode
    fk_name = "tree"
    extra = 0
    fields = ["position", "key", "name_en", "name_zh", "unit", "operator", "parent", "stage",
              "department", "higher_is_better"]
    ordering = ["position"]


@admin.register(MetricTree)
class MetricTreeAdmin(admin.ModelAdmin):
    list_display = ["key", "name_en", "name_zh"]
    inlines = [MetricNodeInline]


@admin.register(MetricNode)
class MetricNodeAdmin(admin.ModelAdmin):
    list_display = ["key", "tree", "name_en", "name_zh", "operator", "parent", "stage", "department"]
    list_filter = ["tree", "operator", "stage", "department"]
    search_fields = ["key", "name_en", "name_zh"]


@admin.register(Target)
class TargetAdmin(admin.ModelAdmin):
    list_display = ["store", "department", "metric", "period_start", "period_end", "value",
                    "set_by", "set_at", "superseded_at"]
    list_filter = ["store", "department", "metric"]


@admin.register(AttainmentAlert)
class AttainmentAlertAdmin(admin.ModelAdmin):
    list_display = ["store", "target", "date", "status", "actual", "projected"]
    list_filter = ["store", "status"]
