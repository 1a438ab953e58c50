"""``{{ item.start|service_time:item.timezone }}`` -> ``Sat 10 May 2027, 10:00 WEST``.

The same function (``notifications.formatting.format_local``) the emails, WhatsApp
messages, the portal and the admin use: one way to write a service's time.
"""

from __future__ import annotations

from datetime import datetime

from django import template

from notifications.formatting import format_local, format_when

register = template.Library()


@register.filter
def service_time(value: datetime | None, tz: str | None = None) -> str:
    if value is None:
        return ""
    return format_local(value, tz or None)


@register.simple_tag
def service_when(start: datetime, end: datetime, tz: str | None = None) -> str:
    return format_when(start, end, tz or None)
