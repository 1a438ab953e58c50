# IdempotencyRecord now belongs to core (core 0001 took over the table as it is).

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("partners", "0002_local_time_and_deadlines"),
        ("core", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="IdempotencyRecord")],
            database_operations=[],
        ),
    ]
