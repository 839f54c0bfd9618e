"""Audit pages. The owner dashboard (/owner/) lives in governance.views, which reports
across apps; its URL is routed in audits/urls_owner.py."""
