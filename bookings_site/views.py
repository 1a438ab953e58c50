"""Project-level views: where a person lands after logging in."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Staff go to the admin, partners to their portal."""
    if request.user.is_staff:
        return redirect("admin:index")
    return redirect("portal:dashboard")
