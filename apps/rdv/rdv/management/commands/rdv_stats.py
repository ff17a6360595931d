import json
from collections import defaultdict

from django.core.management.base import BaseCommand

from rdv import config
from rdv.models import Appointment, Status, WeeklyCount

COLUMNS = ("bookings", "cancelled", "no_show", "honoured")


class Command(BaseCommand):
    help = "Bookings, cancellations, no-shows and honoured appointments per motive and ISO week."

    def add_arguments(self, parser) -> None:  # type: ignore[no-untyped-def]
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: object, **options: object) -> None:
        tz = config.get().tz
        table: dict[tuple[str, str, str], dict[str, int]] = defaultdict(
            lambda: dict.fromkeys(COLUMNS, 0)
        )

        def add(service: str, motive: str, year: int, week: int, status: str, n: int) -> None:
            row = table[(service, motive, f"{year}-W{week:02d}")]
            row["bookings"] += n
            if status == Status.CANCELLED:
                row["cancelled"] += n
            elif status == Status.NO_SHOW:
                row["no_show"] += n
            elif status == Status.HONOURED:
                row["honoured"] += n

        for w in WeeklyCount.objects.all():
            add(w.service, w.motive, w.iso_year, w.iso_week, w.status, w.count)
        for a in Appointment.objects.values("service", "motive", "start", "status"):
            year, week, _ = a["start"].astimezone(tz).isocalendar()
            add(a["service"], a["motive"], year, week, a["status"], 1)
        rows = [
            {"service": s, "motive": m, "week": w, **counts}
            for (s, m, w), counts in sorted(table.items(), key=lambda kv: (kv[0][2], kv[0][0], kv[0][1]))
        ]
        if options["json"]:
            self.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2))
            return
        self.stdout.write("semaine\tservice\tmotif\tréservés\tannulés\tabsents\thonorés")
        for r in rows:
            self.stdout.write(
                f"{r['week']}\t{r['service']}\t{r['motive']}\t{r['bookings']}\t"
                f"{r['cancelled']}\t{r['no_show']}\t{r['honoured']}"
            )
