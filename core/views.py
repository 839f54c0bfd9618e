from csp.constants import NONCE, SELF
from csp.decorators import csp_update
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerSplitView

from core import health


@never_cache
@require_GET
def healthz(request):
    """JSON state of the database and the broker; 503 when either is down."""
    components = {"database": health.check_database(), "broker": health.check_broker()}
    ok = all(state.ok for state in components.values())
    body = {"status": "ok" if ok else "down"}
    body.update({name: state.as_dict() for name, state in components.items()})
    return JsonResponse(body, status=200 if ok else 503)


# Swagger UI's init script comes from the same view (?script=), never inline.
api_docs = SpectacularSwaggerSplitView.as_view(
    url_name="api-schema", template_name="api_docs/swagger_ui.html"
)
# ReDoc writes its styles into <style> elements at run time (allowed by this response's
# nonce) and runs its search in a worker it builds from a blob: URL.
api_redoc = csp_update({"style-src": [NONCE], "worker-src": [SELF, "blob:"]})(
    SpectacularRedocView.as_view(url_name="api-schema", template_name="api_docs/redoc.html")
)
