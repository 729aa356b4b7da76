from __future__ import annotations

from django.db import migrations


def create_default_trees(apps, schema_editor):
    from kpitree.engine.trees import DEFAULT_TREES

    MetricTree = apps.get_model("kpitree", "MetricTree")
    MetricNode = apps.get_model("kpitree", "MetricNode")
    for spec in DEFAULT_TREES.values():
        tree, _ = MetricTree.objects.update_or_create(
            key=spec.key, defaults={"name_en": spec.name_en, "name_zh": spec.name_zh}
        )
        rows = {}
        for position, (key, node) in enumerate(spec.nodes.items()):
            parent_key = spec.parent(key)
            rows[key], _ = MetricNode.objects.update_or_create(
                tree=tree,
                key=key,
                defaults={
                    "name_en": node.name_en,
                    "name_zh": node.name_zh,
                    "unit": node.unit,
                    "operator": node.op,
                    "parent": rows[parent_key] if parent_key else None,
                    "position": position,
                    "stage": node.stage,
                    "department": node.department or "",
                    "higher_is_better": node.higher_is_better,
                },
            )


class Migration(migrations.Migration):
    dependencies = [("kpitree", "0001_initial")]

    operations = [migrations.RunPython(create_default_trees, migrations.RunPython.noop)]
