"""Mounted at /bench/ only when settings.BENCH is on (see bookings_site/urls.py)."""

from django.urls import path

from bench import views

urlpatterns = [
    path("baseline/", views.baseline, name="bench-baseline"),
]
