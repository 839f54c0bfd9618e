from django.db import migrations, models


def existing_campaigns_keep_their_greeting(apps, schema_editor):
    # Campaigns written before the greeting was a field had "Hello {name}," added.
    apps.get_model("campaigns", "Campaign").objects.update(greeting="Hello {name},")


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0002_send_total"),
    ]

    operations = [
        migrations.AddField(
            model_name="campaign",
            name="greeting",
            field=models.CharField(blank=True, default="", max_length=120, verbose_name="greeting"),
        ),
        migrations.RunPython(existing_campaigns_keep_their_greeting, migrations.RunPython.noop),
    ]
