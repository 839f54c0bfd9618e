from allauth.account.decorators import secure_admin_login
from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from accounts import language as account_language
from accounts import views as account_views
from console import views as console_views
from core import views as core_views

# The admin signs in through allauth's own page, so its sign-in limits and the second
# factor apply there too; signed-in people who may not use the admin get a 403.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]

urlpatterns = [
    path("", account_views.home, name="home"),
    path("healthz/", core_views.healthz, name="healthz"),
    path("favicon.ico", core_views.favicon, name="favicon"),
    # The language switch in every page's footer (remembered per person).
    path("i18n/setlang/", account_language.set_language, name="set_language"),
    path("transparency/", console_views.transparency, name="transparency"),
    # After a confirmation link opened in another browser dropped an unproven password.
    path(
        "accounts/choose-password/",
        account_views.choose_password,
        name="account_choose_password",
    ),
    path("accounts/", include("allauth.urls")),
    path("me/", include("console.urls_me")),
    path("staff/", include("console.urls_staff")),
    path("owner/", include("console.urls_owner")),
    # The signed links in offer emails (no sign-in needed).
    path("offers/", include("personalization.campaigns.urls_public")),
    path("api/v1/", include("personalization.api.urls")),
    path("api/v1/audits/", include("audits.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", core_views.api_docs, name="api-docs"),
    path("api/redoc/", core_views.api_redoc, name="api-redoc"),
    path("admin/", admin.site.urls),
]

admin.site.site_header = settings.SHOP_NAME

# Error pages in the site's layout (and the API's envelope under /api/v1/).
handler400 = "core.views.bad_request"
handler403 = "core.views.permission_denied"
handler404 = "core.views.page_not_found"
handler500 = "core.views.server_error"
