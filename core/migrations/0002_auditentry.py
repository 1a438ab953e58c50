# The AuditEntry model moves from notifications to core; its table and index stay as they
# are, and its content type is renamed so permissions given on it are kept.

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

import core.models


def rename_content_type(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    if not ContentType.objects.using(db).filter(app_label="core", model="auditentry").exists():
        ContentType.objects.using(db).filter(app_label="notifications", model="auditentry").update(
            app_label="core"
        )


def restore_content_type(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    ContentType.objects.using(db).filter(app_label="core", model="auditentry").update(
        app_label="notifications"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("core", "0001_initial"),
        ("notifications", "0005_large_table_indexes"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="AuditEntry",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("object_id", models.PositiveBigIntegerField()),
                        ("target_repr", models.CharField(max_length=200, verbose_name="object")),
                        ("action", models.CharField(choices=core.models.audit_actions, db_index=True, max_length=50)),
                        ("actor_label", models.CharField(max_length=200, verbose_name="by")),
                        ("from_status", models.CharField(blank=True, max_length=30)),
                        ("to_status", models.CharField(blank=True, max_length=30)),
                        ("data", models.JSONField(blank=True, default=dict)),
                        ("created_at", models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                        ("actor", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to=settings.AUTH_USER_MODEL)),
                        ("content_type", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+", to="contenttypes.contenttype")),
                    ],
                    options={
                        "verbose_name": "audit entry",
                        "verbose_name_plural": "audit entries",
                        "db_table": "notifications_auditentry",
                        "ordering": ["-created_at", "-id"],
                        "indexes": [
                            models.Index(fields=["content_type", "object_id", "created_at"], name="notificatio_content_ed493f_idx"),
                            models.Index(fields=["created_at", "id"], name="audit_created_id"),
                            models.Index(fields=["action", "created_at", "id"], name="audit_action_created"),
                            models.Index(fields=["content_type", "created_at", "id"], name="audit_type_created"),
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(rename_content_type, restore_content_type),
    ]
