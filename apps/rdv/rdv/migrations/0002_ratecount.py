from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("rdv", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="RateCount",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("key", models.CharField(max_length=100, unique=True)),
                ("expires", models.DateTimeField(db_index=True)),
                ("count", models.PositiveIntegerField(default=1)),
            ],
        ),
        # The rate limits counted in Django's database cache before: its table has no use left.
        migrations.RunSQL("DROP TABLE IF EXISTS rdv_cache", migrations.RunSQL.noop),
    ]
