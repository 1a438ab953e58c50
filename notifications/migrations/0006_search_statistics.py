from django.db import migrations

# The admin's exact-match search fields compare UPPER(column) = UPPER(term). Without
# statistics on that expression PostgreSQL guesses 0.5 % of the outbox per field, and a
# search for one address then counts by scanning millions of rows; with them it knows
# the term is rare and uses the trigram indexes. PostgreSQL only (14+).
STATISTICS = {
    "notification_upper_reference": "reference",
    "notification_upper_provider_id": "provider_message_id",
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, column in STATISTICS.items():
        schema_editor.execute(
            f'CREATE STATISTICS IF NOT EXISTS "{name}" '
            f'ON (UPPER("{column}"::text)) FROM notifications_notification'
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in STATISTICS:
        schema_editor.execute(f'DROP STATISTICS IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [("notifications", "0005_large_table_indexes")]

    operations = [migrations.RunPython(create, drop)]
