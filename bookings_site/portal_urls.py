"""The partner portal at /portal/. The views live in the app that owns the objects.

Services link to ``dashboard``, ``item-detail``, ``booking-detail``, ``offer-detail``
and ``invite-accept`` in their messages: keep those names.
"""

from django.urls import path

from billing import views as billing
from bookings import views as bookings
from offers import views as offers
from partners import views as partners

app_name = "portal"

urlpatterns = [
    path("", offers.dashboard, name="dashboard"),
    path("profile/", partners.profile, name="profile"),
    path("invite/<str:token>/", partners.invite_accept, name="invite-accept"),
    # vendors
    path("items/", bookings.vendor_items, name="items"),
    path("items/<int:pk>/", bookings.item_detail, name="item-detail"),
    path("items/<int:pk>/accept/", bookings.item_accept, name="item-accept"),
    path("items/<int:pk>/decline/", bookings.item_decline, name="item-decline"),
    path("items/<int:pk>/confirm/", bookings.item_confirm, name="item-confirm"),
    path("history/", bookings.vendor_history, name="history"),
    # brokers
    path("bookings/", bookings.booking_list, name="bookings"),
    path("bookings/new/", bookings.booking_request, name="booking-request"),
    path("bookings/<str:reference>/", bookings.booking_detail, name="booking-detail"),
    path("bookings/<str:reference>/submit/", bookings.booking_submit, name="booking-submit"),
    path("bookings/<str:reference>/cancel/", bookings.booking_cancel, name="booking-cancel"),
    path(
        "bookings/<str:reference>/items/<int:pk>/change/",
        bookings.booking_item_change,
        name="booking-item-change",
    ),
    path("offers/", offers.offer_list, name="offers"),
    path("offers/<str:reference>/", offers.offer_detail, name="offer-detail"),
    path("offers/<str:reference>/accept/", offers.offer_accept, name="offer-accept"),
    path("offers/<str:reference>/decline/", offers.offer_decline, name="offer-decline"),
    path("bookings/<str:reference>/pay/<int:instalment>/", billing.pay, name="booking-pay"),
    path("invoices/", billing.invoice_list, name="invoices"),
    path("invoices/<str:number>/pdf/", billing.invoice_pdf, name="invoice-pdf"),
    path("statement/", billing.statement, name="statement"),
    path("statement/csv/", billing.statement_csv, name="statement-csv"),
    path("statement/pdf/", billing.statement_pdf, name="statement-pdf"),
]
