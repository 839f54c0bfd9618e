"""Human oversight: guardrail rules, the review queue, campaigns, the kill switch."""
