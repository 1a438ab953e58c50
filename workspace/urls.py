from django.contrib import admin
from django.urls import path

from workspace import views

app_name = "workspace"

urlpatterns = [
    path("", admin.site.admin_view(views.agenda), name="agenda"),
    path("<str:day>/", admin.site.admin_view(views.day_sheet), name="day_sheet"),
]
