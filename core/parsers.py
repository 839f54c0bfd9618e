"""The API's JSON parser (its own module: DRF's settings import it while loading)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework import exceptions, parsers

from core import inputs


class StrictJSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing what would otherwise fail later as a 500: nesting
    beyond `inputs.JSON_MAX_DEPTH` (RecursionError), NaN and Infinity, and numbers a
    float cannot hold (1e400)."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", "utf-8")
        try:
            text = stream.read().decode(encoding)
        except (UnicodeDecodeError, LookupError):
            raise exceptions.ParseError(
                _("The body is not valid %(encoding)s text.") % {"encoding": encoding}
            ) from None
        try:
            return inputs.json_loads(text)
        except inputs.InputError as exc:
            raise exceptions.ParseError(_("JSON refused: %(reason)s.") % {"reason": exc}) from None
        except ValueError as exc:
            raise exceptions.ParseError(
                _("JSON parse error: %(reason)s.") % {"reason": exc}
            ) from None
