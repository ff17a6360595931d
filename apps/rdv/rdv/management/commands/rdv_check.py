import os

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from rdv import config


class Command(BaseCommand):
    help = "Exit 0 when the configuration is valid and the database answers."

    def handle(self, *args: object, **options: object) -> None:
        try:
            conf = config.load_file(os.environ["RDV_CONFIG"])
        except (KeyError, OSError, config.ConfigError) as exc:
            raise CommandError(f"configuration: {exc}") from exc
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1 FROM rdv_reservation LIMIT 1")
        except Exception as exc:
            raise CommandError(f"database: {exc}") from exc
        self.stdout.write(f"ok: {conf.commune_name}, {len(conf.services)} service(s)")
