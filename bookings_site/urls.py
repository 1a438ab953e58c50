from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from billing import views as billing_views
from bookings_site import health, views
from partners.forms import OutboxPasswordResetForm, ThrottledAdminAuthenticationForm
from partners.views import LoginView

admin.site.site_header = "Booking office"
admin.site.site_title = "Booking office"
admin.site.index_title = "Back office"
# Failed staff logins are slowed down like the portal's.
admin.site.login_form = ThrottledAdminAuthenticationForm

urlpatterns = [
    path("", views.home, name="home"),
    # The staff agenda and day sheets, inside the admin (its login, its look).
    path("admin/agenda/", include("workspace.urls")),
    path("admin/", admin.site.urls),
    # Django's auth views with the portal's templates; the login is throttled.
    path("accounts/login/", LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password/change/",
        auth_views.PasswordChangeView.as_view(template_name="registration/change_password.html"),
        name="password_change",
    ),
    path(
        "accounts/password/change/done/",
        auth_views.PasswordChangeDoneView.as_view(
            template_name="registration/change_password_done.html"
        ),
        name="password_change_done",
    ),
    path(
        "accounts/password/reset/",
        # The email goes through the outbox (OutboxPasswordResetForm): no SMTP inside
        # the request, the same answer and time whether or not the address is known.
        auth_views.PasswordResetView.as_view(
            template_name="registration/reset_password.html",
            form_class=OutboxPasswordResetForm,
        ),
        name="password_reset",
    ),
    path(
        "accounts/password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(
            template_name="registration/reset_password_sent.html"
        ),
        name="password_reset_done",
    ),
    path(
        "accounts/password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            template_name="registration/reset_password_confirm.html"
        ),
        name="password_reset_confirm",
    ),
    path(
        "accounts/password/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(
            template_name="registration/reset_password_done.html"
        ),
        name="password_reset_complete",
    ),
    path("portal/", include("bookings_site.portal_urls")),
    path("api/v1/", include("bookings_site.api.urls")),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("webhooks/whatsapp/", include("notifications.urls")),
    path("billing/webhooks/<str:provider>/", billing_views.webhook, name="billing-webhook"),
]

if settings.BENCH:  # `make bench` only: the raw baseline the API is measured against
    urlpatterns.append(path("bench/", include("bench.urls")))
