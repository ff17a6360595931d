import datetime as dt

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from rdv import config, mails
from rdv.models import Appointment, Status


class Command(BaseCommand):
    help = "Send the reminders that are due (each appointment at most once)."

    def handle(self, *args: object, **options: object) -> None:
        now = timezone.now()
        horizon = now + dt.timedelta(hours=config.get().reminder_hours)
        sent = 0
        due = Appointment.objects.filter(
            status=Status.BOOKED, reminder_sent_at__isnull=True, start__gt=now, start__lte=horizon
        ).values_list("pk", flat=True)
        for pk in due:
            with transaction.atomic():
                # Claimed before sending: a second timer run (or a crash after the mail) never
                # sends it twice; a lost mail is preferred to a duplicate.
                appointment = Appointment.objects.select_for_update(skip_locked=True).filter(
                    pk=pk, reminder_sent_at__isnull=True, status=Status.BOOKED
                ).first()
                if appointment is None:
                    continue
                appointment.reminder_sent_at = now
                appointment.save(update_fields=["reminder_sent_at"])
            mails.send_reminder(appointment)
            sent += 1
        self.stdout.write(f"{sent} rappel(s) envoyé(s)")
