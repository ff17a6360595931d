"""Appointments and blocks share one table of reservations so that a single PostgreSQL
exclusion constraint forbids any overlap on a counter, whoever writes and however
concurrently. Appointment and Block extend it (multi-table inheritance)."""

from __future__ import annotations

import uuid

from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateTimeRangeField, RangeOperators
from django.db import models
from django.db.models import Func, Q


class TsTzRange(Func):
    function = "TSTZRANGE"
    output_field = DateTimeRangeField()


class Reservation(models.Model):
    service = models.CharField(max_length=100)
    counter = models.CharField(max_length=100)
    start = models.DateTimeField()
    end = models.DateTimeField()
    # False once cancelled: the slot is free again but the row stays for the statistics.
    active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            ExclusionConstraint(
                name="rdv_no_overlap_on_counter",
                expressions=[
                    ("service", RangeOperators.EQUAL),
                    ("counter", RangeOperators.EQUAL),
                    (TsTzRange("start", "end"), RangeOperators.OVERLAPS),
                ],
                condition=Q(active=True),
            ),
            models.CheckConstraint(condition=Q(start__lt=models.F("end")), name="rdv_start_before_end"),
        ]
        indexes = [models.Index(fields=["service", "start"])]


class Status(models.TextChoices):
    BOOKED = "booked", "booked"
    CANCELLED = "cancelled", "cancelled"
    HONOURED = "honoured", "honoured"
    NO_SHOW = "no_show", "no_show"


class Appointment(Reservation):
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    motive = models.CharField(max_length=100)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.BOOKED)
    name = models.CharField(max_length=200)
    email = models.EmailField()
    phone = models.CharField(max_length=40, blank=True)
    # sha256 of the private link's token: a database leak does not give the links away.
    token_hash = models.CharField(max_length=64, unique=True)
    language = models.CharField(max_length=8, default="fr")
    created_at = models.DateTimeField(auto_now_add=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.CharField(max_length=200, blank=True)
    reminder_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["email", "motive"]), models.Index(fields=["status"])]

    def save(self, *args: object, **kwargs: object) -> None:
        self.active = self.status != Status.CANCELLED
        super().save(*args, **kwargs)  # type: ignore[arg-type]


class Block(Reservation):
    reason = models.CharField(max_length=200, blank=True)
    created_by = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)


class OutboxEntry(models.Model):
    """A calendar change to push, written in the same transaction as the appointment's."""

    class Action(models.TextChoices):
        PUT = "put", "put"
        DELETE = "delete", "delete"

    created_at = models.DateTimeField(auto_now_add=True)
    calendar = models.CharField(max_length=300)  # path under caldav.url, ends with "/"
    uid = models.UUIDField()
    action = models.CharField(max_length=8, choices=Action.choices)
    body = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["done_at", "id"]), models.Index(fields=["uid"])]


class WeeklyCount(models.Model):
    """Anonymous counts left behind by the retention job: what rdv_stats still reports."""

    service = models.CharField(max_length=100)
    motive = models.CharField(max_length=100)
    iso_year = models.PositiveSmallIntegerField()
    iso_week = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["service", "motive", "iso_year", "iso_week", "status"],
                name="rdv_weekly_count_key",
            )
        ]


class RateCount(models.Model):
    """One address's requests in one window of a rate limit, counted by an atomic upsert
    (rdv.ratelimit): parallel requests never lose a count, as a cache's get-then-set would."""

    key = models.CharField(max_length=100, unique=True)
    expires = models.DateTimeField(db_index=True)
    count = models.PositiveIntegerField(default=1)
