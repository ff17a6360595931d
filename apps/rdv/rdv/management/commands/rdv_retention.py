import datetime as dt

from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from rdv import calendars, config
from rdv.models import Appointment, Block, OutboxEntry, Reservation, WeeklyCount


class Command(BaseCommand):
    help = "Erase citizens' personal data past the retention period, keeping anonymous counts."

    def handle(self, *args: object, **options: object) -> None:
        limit = timezone.now() - dt.timedelta(days=config.get().retention_days)
        erased = 0
        while True:
            with transaction.atomic():
                batch = list(
                    Appointment.objects.select_for_update(skip_locked=True)
                    .filter(end__lt=limit)
                    .order_by("pk")[:500]
                )
                if not batch:
                    break
                for appointment in batch:
                    year, week, _ = appointment.start.astimezone(config.get().tz).isocalendar()
                    row, _ = WeeklyCount.objects.get_or_create(
                        service=appointment.service, motive=appointment.motive,
                        iso_year=year, iso_week=week, status=appointment.status,
                    )
                    WeeklyCount.objects.filter(pk=row.pk).update(count=F("count") + 1)
                uids = [a.uid for a in batch]
                # Calendar bodies carry the name too: pending writes go, and the events leave
                # the agendas (a removal carries no personal data; a missing event is fine).
                OutboxEntry.objects.filter(uid__in=uids).delete()
                for appointment in batch:
                    calendars.enqueue_delete(appointment)
                # Deleting the child would leave the parent row: delete through the parent.
                Reservation.objects.filter(pk__in=[a.pk for a in batch]).delete()
                erased += len(batch)
        self.stdout.write(f"{erased} rendez-vous effacé(s)")
        self._old_blocks(limit)

    def _old_blocks(self, limit: dt.datetime) -> None:
        Block.objects.filter(end__lt=limit).delete()
