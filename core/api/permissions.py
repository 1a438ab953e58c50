"""Who may call the API at all, and what a staff caller needs per operation."""

from __future__ import annotations

from typing import Any

from rest_framework import permissions
from rest_framework.request import Request

from core.api.actors import api_actor

# The Django permission verb each standard viewset action needs.
ACTION_VERBS = {
    "list": "view",
    "retrieve": "view",
    "create": "add",
    "update": "change",
    "partial_update": "change",
    "destroy": "delete",
}
METHOD_VERBS = {
    "GET": "view",
    "HEAD": "view",
    "OPTIONS": "view",
    "POST": "add",
    "PUT": "change",
    "PATCH": "change",
    "DELETE": "delete",
}


class IsApiCaller(permissions.BasePermission):
    """Staff, or a person or key of an active vendor or broker."""

    message = "This account cannot use the API."

    def has_permission(self, request: Request, view: Any) -> bool:
        return api_actor(request) is not None


class StaffModelPermissions(permissions.BasePermission):
    """A staff caller needs the model permission for what it asks (view/add/change).

    Viewsets may name the permissions of their own actions in ``action_permissions``
    (``{"approve": ["bookings.approve_booking"]}``); an action not named needs the view
    permission (the service then checks its own). Partner callers pass: the viewset's
    queryset (a selector) and the services scope them.
    """

    def has_permission(self, request: Request, view: Any) -> bool:
        actor = api_actor(request)
        if actor is None:
            return False
        if actor.is_partner:
            return True
        method = (request.method or "").lower()
        if method not in view.http_method_names or not hasattr(view, method):
            return True  # the view answers 405; no permission to check
        return all(actor.has_perm(perm) for perm in self.required_permissions(request, view))

    @staticmethod
    def required_permissions(request: Request, view: Any) -> list[str]:
        action = getattr(view, "action", None)
        custom = getattr(view, "action_permissions", {}) or {}
        if action in custom:
            return list(custom[action])
        model = getattr(view, "permission_model", None)
        if model is None and getattr(view, "queryset", None) is not None:
            model = view.queryset.model
        if model is None and hasattr(view, "get_queryset"):
            model = view.get_queryset().model
        if model is None:
            return []
        if action in ACTION_VERBS:
            verb = ACTION_VERBS[action]
        elif action:
            verb = "view"
        else:
            verb = METHOD_VERBS.get(request.method or "GET", "view")
        return [f"{model._meta.app_label}.{verb}_{model._meta.model_name}"]
