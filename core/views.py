from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

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
