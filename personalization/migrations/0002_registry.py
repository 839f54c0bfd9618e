from django.db import migrations


def load_registry(apps, schema_editor):
    from personalization import registry

    DataCategory = apps.get_model("personalization", "DataCategory")
    Purpose = apps.get_model("personalization", "Purpose")
    for spec in registry.DATA_CATEGORIES:
        DataCategory.objects.update_or_create(
            code=spec.code,
            defaults={
                "name": spec.name,
                "description": spec.description,
                "retention_days": spec.retention_days,
            },
        )
    for spec in registry.PURPOSES:
        Purpose.objects.update_or_create(
            code=spec.code,
            defaults={
                "name": spec.name,
                "description": spec.description,
                "requires_opt_in": spec.requires_opt_in,
                "honours_gpc": spec.honours_gpc,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("personalization", "0001_initial")]

    operations = [migrations.RunPython(load_registry, migrations.RunPython.noop)]
