from django.core.management.base import BaseCommand, CommandError

from rdv import calendars


class Command(BaseCommand):
    help = "Push pending calendar changes to the CalDAV server."

    def handle(self, *args: object, **options: object) -> None:
        sent, pending = calendars.push()
        self.stdout.write(f"{sent} envoyé(s), {pending} en attente")
        if pending:
            raise CommandError(f"{pending} calendar change(s) still pending")
