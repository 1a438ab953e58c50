# The IdempotencyRecord model moves from partners to core; its table stays where it is.

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("partners", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="IdempotencyRecord",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("owner", models.CharField(help_text="Who sent it, e.g. apikey:12 or user:5.", max_length=64)),
                        ("key", models.CharField(max_length=255)),
                        ("method", models.CharField(max_length=8)),
                        ("path", models.CharField(max_length=500)),
                        ("request_hash", models.CharField(max_length=64)),
                        ("state", models.CharField(choices=[("in_progress", "In progress"), ("done", "Done")], default="in_progress", max_length=16)),
                        ("response_status", models.PositiveSmallIntegerField(blank=True, null=True)),
                        ("response_body", models.BinaryField(blank=True, null=True)),
                        ("response_content_type", models.CharField(blank=True, max_length=100)),
                        ("created_at", models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                    ],
                    options={
                        "db_table": "partners_idempotencyrecord",
                        "constraints": [models.UniqueConstraint(fields=("owner", "key"), name="idempotency_owner_key_unique")],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
