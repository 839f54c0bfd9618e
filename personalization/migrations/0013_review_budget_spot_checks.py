"""Hold items, not lists (issue 17): the review budget, spot checks and the rules a
reviewer can check (low confidence counts the events a suggestion rests on)."""

import django.core.validators
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("personalization", "0012_return_kind_guest_sales_non_product_codes"),
    ]

    operations = [
        migrations.AddField(
            model_name="reviewitem",
            name="kind",
            field=models.CharField(
                choices=[
                    ("hold", "Held before the customer sees it"),
                    ("spot_check", "Spot check after delivery"),
                ],
                default="hold",
                max_length=12,
                verbose_name="kind",
            ),
        ),
        migrations.RemoveField(model_name="oversightsettings", name="min_confidence"),
        migrations.RemoveField(model_name="oversightsettings", name="min_history"),
        migrations.AddField(
            model_name="oversightsettings",
            name="min_evidence",
            field=models.PositiveIntegerField(
                default=2,
                help_text=(
                    "Hold a suggestion that rests on fewer of the customer's own events "
                    "than this (0: never)."
                ),
                validators=[django.core.validators.MaxValueValidator(1000)],
                verbose_name="minimum evidence (events)",
            ),
        ),
        migrations.AddField(
            model_name="oversightsettings",
            name="review_budget",
            field=models.PositiveIntegerField(
                default=50,
                help_text=(
                    "About how many items people can review a day. Beyond it, the "
                    "lowest-risk flags go out and a random sample is checked after "
                    "delivery instead; high-risk flags are always held."
                ),
                validators=[
                    django.core.validators.MinValueValidator(1),
                    django.core.validators.MaxValueValidator(1000000),
                ],
                verbose_name="review budget (items a day)",
            ),
        ),
        migrations.AddField(
            model_name="oversightsettings",
            name="spot_check_percent",
            field=models.FloatField(
                default=0.2,
                help_text=(
                    "When a regeneration goes over the review budget, this share of what "
                    "it sends out unreviewed is sampled at random for a check after "
                    "delivery."
                ),
                validators=[
                    django.core.validators.MinValueValidator(0.0),
                    django.core.validators.MaxValueValidator(100.0),
                ],
                verbose_name="spot checks (% of unreviewed items)",
            ),
        ),
        migrations.AlterField(
            model_name="oversightsettings",
            name="premium_multiple",
            field=models.FloatField(
                default=5.0,
                help_text="Hold items priced above this many times the customer's usual spend.",
                validators=[
                    django.core.validators.MinValueValidator(1.0),
                    django.core.validators.MaxValueValidator(100.0),
                ],
                verbose_name="premium multiple",
            ),
        ),
    ]
