"""The built-in personalization features, switched on with an approved baseline assessment.

Installations (and the test suite) that existed before the risk gate keep their
behaviour; the baseline says plainly that it was recorded at installation, and the
owner signs off a reviewed version in the console. Idempotent: existing rows are kept.
"""

from django.db import migrations
from django.utils import timezone

from governance.features import BASELINE, BUILTIN_FEATURES


def create_builtin_features(apps, schema_editor):
    Feature = apps.get_model("governance", "PersonalizationFeature")
    Assessment = apps.get_model("governance", "RiskAssessment")
    Event = apps.get_model("governance", "FeatureEvent")
    now = timezone.now()
    for spec in BUILTIN_FEATURES:
        feature, created = Feature.objects.get_or_create(
            code=spec.code,
            defaults={
                "name": spec.name,
                "description": spec.description,
                "data_categories": list(spec.data_categories),
                "model_type": spec.model_type,
                "enabled": True,
                "built_in": True,
            },
        )
        if not created:
            continue
        assessment = Assessment.objects.create(
            feature=feature,
            version=1,
            status="approved",
            data_categories=list(spec.data_categories),
            model_type=spec.model_type,
            approved_at=now,
            **BASELINE,
        )
        Event.objects.create(
            feature=feature,
            action="approved",
            assessment=assessment,
            reason=BASELINE["sign_off_note"],
        )
        Event.objects.create(
            feature=feature,
            action="enabled",
            assessment=assessment,
            reason=BASELINE["sign_off_note"],
        )


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0002_risk_gate_vendors_survey"),
    ]

    operations = [
        migrations.RunPython(create_builtin_features, migrations.RunPython.noop),
    ]
