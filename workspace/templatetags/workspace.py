from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from bookings.admin import item_badge
from workspace.panel import attention_counts
from workspace.timing import site_zone

register = template.Library()


@register.inclusion_tag("workspace/_attention.html", takes_context=True)
def attention_panel(context: Any) -> dict[str, Any]:
    request = context["request"]
    now = timezone.now()
    today = timezone.localtime(now, site_zone()).date()
    return {"counts": attention_counts(request, now=now), "today": today}


@register.simple_tag
def vendor_badge(item: Any) -> str:
    return item_badge(item)
