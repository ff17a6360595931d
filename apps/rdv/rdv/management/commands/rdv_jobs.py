from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from rdv import ratelimit


class Command(BaseCommand):
    help = "The timer's work in one process: due reminders, then pending calendar changes."

    def handle(self, *args: object, **options: object) -> None:
        # Reminders first: calendars that are down must not hold back a citizen's mail. One
        # Django start for both, as each commune's timer runs it every few minutes.
        call_command("rdv_reminders", stdout=self.stdout)
        ratelimit.forget_expired()
        try:
            call_command("rdv_outbox", stdout=self.stdout)
        except CommandError as error:
            raise CommandError(f"reminders sent; {error}") from error
