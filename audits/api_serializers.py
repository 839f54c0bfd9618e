"""Response shapes of the audits API (for the OpenAPI schema; the data comes from
`audits.reports.selectors`, the same as the report's JSON download)."""

from rest_framework import serializers

from audits.models import AuditFinding, AuditRun, Metric


class AuditPolicyUsedSerializer(serializers.Serializer):
    attributes = serializers.ListField(
        child=serializers.CharField(), help_text="Attributes audited; empty: every declared one."
    )
    metrics = serializers.ListField(
        child=serializers.CharField(), help_text="Codes of the measures, as in `metric`."
    )
    ratio_threshold = serializers.FloatField()
    difference_threshold = serializers.FloatField()
    min_group_size = serializers.IntegerField()
    drift_threshold = serializers.FloatField()
    reference_groups = serializers.DictField(child=serializers.CharField())
    confidence = serializers.FloatField()


class AuditRunSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField(help_text="queued, running, completed or failed.")
    trigger = serializers.ChoiceField(choices=AuditRun.Trigger.values)
    step = serializers.CharField(help_text="Current step, e.g. 'measure:exposure', 'compare'.")
    percent = serializers.IntegerField(min_value=0, max_value=100)
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    findings = serializers.IntegerField(help_text="Findings of this run.")
    open_findings = serializers.IntegerField(help_text="Findings nobody acknowledged yet.")


class AuditRunPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = AuditRunSummarySerializer(many=True)


class AuditResultSerializer(serializers.Serializer):
    metric = serializers.ChoiceField(choices=Metric.values)
    segment = serializers.CharField(allow_null=True, help_text="Category measured, if any.")
    attributes = serializers.ListField(child=serializers.CharField())
    group = serializers.ListField(child=serializers.CharField())
    too_few_to_measure = serializers.BooleanField(
        help_text="True: the group is under the minimum size (or hidden to protect a smaller "
        "one) and carries no value, interval or count."
    )
    suppression = serializers.ChoiceField(choices=["too_few", "complementary"], allow_null=True)
    n = serializers.IntegerField(allow_null=True)
    customers = serializers.IntegerField(allow_null=True)
    value = serializers.FloatField(allow_null=True)
    low = serializers.FloatField(allow_null=True)
    high = serializers.FloatField(allow_null=True)
    interval = serializers.ChoiceField(choices=["wilson", "bootstrap"])
    higher_is_better = serializers.BooleanField()
    reference_group = serializers.ListField(child=serializers.CharField(), allow_null=True)
    is_reference = serializers.BooleanField()
    difference = serializers.FloatField(allow_null=True)
    ratio = serializers.FloatField(allow_null=True)
    fails_four_fifths_rule = serializers.BooleanField()
    finding = serializers.BooleanField()


class AuditGapSerializer(serializers.Serializer):
    metric = serializers.ChoiceField(choices=Metric.values)
    segment = serializers.CharField(allow_null=True)
    attributes = serializers.ListField(child=serializers.CharField())
    groups_compared = serializers.IntegerField()
    highest_group = serializers.ListField(child=serializers.CharField())
    lowest_group = serializers.ListField(child=serializers.CharField())
    difference = serializers.FloatField(
        help_text="Highest minus lowest published group value (for exposure: the "
        "demographic parity difference). No interval: one of a max-min gap is biased upward."
    )
    ratio = serializers.FloatField(
        allow_null=True, help_text="Lowest / highest (for exposure: the demographic parity ratio)."
    )


class AuditFindingSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=AuditFinding.Kind.values)
    compared_with = serializers.ChoiceField(choices=AuditFinding.ComparedWith.values)
    metric = serializers.ChoiceField(choices=Metric.values)
    segment = serializers.CharField(allow_null=True)
    attributes = serializers.ListField(child=serializers.CharField())
    group = serializers.ListField(child=serializers.CharField())
    value = serializers.FloatField()
    low = serializers.FloatField(allow_null=True)
    high = serializers.FloatField(allow_null=True)
    compared_value = serializers.FloatField(
        help_text="The reference group's value (breach) or the earlier run's (drift)."
    )
    ratio = serializers.FloatField(allow_null=True)
    difference = serializers.FloatField()
    sentence = serializers.CharField()
    status = serializers.CharField(help_text="open, acknowledged or resolved.")
    explanation = serializers.CharField(allow_blank=True)
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    resolved_at = serializers.DateTimeField(allow_null=True)


class AuditRunSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField(help_text="queued, running, completed or failed.")
    trigger = serializers.ChoiceField(choices=AuditRun.Trigger.values)
    step = serializers.CharField()
    percent = serializers.IntegerField(min_value=0, max_value=100)
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    previous_run = serializers.IntegerField(allow_null=True)
    baseline_run = serializers.IntegerField(allow_null=True)
    policy = AuditPolicyUsedSerializer()
    failure = serializers.CharField(allow_null=True)
    summary = serializers.ListField(
        child=serializers.CharField(), help_text="Plain-language sentences, findings first."
    )
    results = AuditResultSerializer(many=True)
    gaps = AuditGapSerializer(many=True)
    findings = AuditFindingSerializer(many=True)
