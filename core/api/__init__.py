"""The REST API (``/api/v1/``): authentication, actors, errors and the base viewset.

The resource endpoints live beside their apps (``partners/api.py``,
``bookings/api.py``, ``offers/api.py``, ``notifications/api.py``) and subclass
``core.api.viewsets.ApiViewSet``.
"""
