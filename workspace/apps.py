from django.apps import AppConfig


class WorkspaceConfig(AppConfig):
    name = "workspace"
    verbose_name = "Workspace"

    def ready(self) -> None:
        from core import attention
        from workspace.attention import CONDITIONS

        attention.register(*CONDITIONS)
