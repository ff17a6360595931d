"""Test settings: the real settings module, fed with a config and credentials built from
pg_virtualenv's PG* variables (so the interface of the deployment is what is tested)."""

import json
import os
import tempfile
from pathlib import Path

_dir = Path(tempfile.mkdtemp(prefix="rdv-test-"))
_creds = _dir / "credentials"
_creds.mkdir()
(_creds / "secret-key").write_text("test-secret-key-" + "x" * 40)
(_creds / "db-password").write_text(os.environ.get("PGPASSWORD", ""))
(_creds / "header-secret").write_text("s3cret-header")

HOURS = {d: [["08:30", "12:00"], ["13:30", "17:00"]] for d in
         ("monday", "tuesday", "wednesday", "thursday", "friday")}
HOURS |= {"saturday": [["09:00", "12:00"]], "sunday": []}

CONFIG = {
    "commune": {"slug": "ours-les-bains", "name": "Ours-les-Bains",
                "insee": os.environ.get("RDV_TEST_INSEE", "38123")},
    "base_url": "http://testserver",
    "website": "https://www.ours-les-bains.fr",
    "time_zone": "Europe/Paris",
    "database": {"name": os.environ.get("PGDATABASE", "rdv"),
                 "user": os.environ.get("PGUSER", "postgres"),
                 "host": os.environ.get("PGHOST", "/run/postgresql"),
                 "port": int(os.environ.get("PGPORT", "5432"))},
    "mail": {"host": "127.0.0.1", "port": 25, "from": "Mairie d'Ours-les-Bains <rdv@example.fr>"},
    "caldav": None,
    "retention_days": 30,
    "reminder_hours": 24,
    "rate_limits": {"search_per_minute": 1000, "booking_per_hour": 1000},
    "services": [
        {"slug": "etat-civil", "name": "État civil", "group": "service-etat-civil",
         "calendar": "services/etat-civil/agenda/",
         "counters": [{"slug": "guichet-1", "name": "Guichet 1", "agents": ["karim.benali"]},
                      {"slug": "guichet-2", "name": "Guichet 2", "agents": ["lea.martin"]}],
         "motives": [
             {"slug": "cni-depot", "name": "Carte d'identité – dépôt", "duration": 20,
              "counters": ["guichet-1", "guichet-2"]},
             {"slug": "mariage", "name": "Dossier de mariage", "duration": 60,
              "counters": ["guichet-1"]}],
         "hours": HOURS,
         "closures": [{"start": "2026-12-24", "end": "2026-12-26",
                       "reason": "Fermeture de fin d'année"}],
         "horizon_days": 60, "notice_hours": 24},
        {"slug": "urbanisme", "name": "Urbanisme", "group": "service-urbanisme",
         "calendar": None,
         "counters": [{"slug": "bureau", "name": "Bureau", "agents": []}],
         "motives": [{"slug": "permis", "name": "Permis de construire", "duration": 30,
                      "counters": ["bureau"]}],
         "hours": HOURS, "closures": [], "horizon_days": 30, "notice_hours": 48},
    ],
}
(_dir / "rdv.json").write_text(json.dumps(CONFIG, ensure_ascii=False))
os.environ["RDV_CONFIG"] = str(_dir / "rdv.json")
os.environ["CREDENTIALS_DIRECTORY"] = str(_creds)

from rdv.settings import *  # noqa: E402,F403

EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
