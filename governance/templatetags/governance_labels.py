"""Plain labels for stored codes on the owner's pages."""

from django import template

from governance.features import model_type_label as _model_type_label

register = template.Library()


@register.filter
def model_type_label(code: str) -> str:
    return _model_type_label(code or "")
