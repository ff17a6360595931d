"""Per-address fixed-window counters in PostgreSQL, shared by gunicorn's threads and workers."""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Callable
from functools import wraps

from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from rdv import config
from rdv.models import RateCount


def client_address(request: HttpRequest) -> str:
    remote = request.META.get("REMOTE_ADDR", "") or ""
    # Behind nginx on a unix socket REMOTE_ADDR is empty: nginx's X-Forwarded-For then ends
    # with the address nginx saw (earlier hops are whatever the client claimed).
    if remote in ("", "unix", "unix:") or remote.startswith("/"):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        hops = [h.strip() for h in forwarded.split(",") if h.strip()]
        return hops[-1] if hops else "unknown"
    return remote


def _limits() -> dict[str, tuple[int, int]]:
    conf = config.get()
    return {"search": (conf.search_per_minute, 60), "booking": (conf.booking_per_hour, 3600)}


def hit(scope: str, address: str) -> bool:
    """Count one request; False when the address is over its limit for the window."""
    limit, window = _limits()[scope]
    bucket = int(time.time() // window)
    digest = hashlib.sha256(address.encode()).hexdigest()[:32]  # no raw addresses stored
    expires = dt.datetime.fromtimestamp((bucket + 1) * window, dt.UTC)
    table = RateCount._meta.db_table
    with connection.cursor() as cursor:
        # One statement, so that concurrent requests each see their own count.
        cursor.execute(
            f"INSERT INTO {table} (key, expires, count) VALUES (%s, %s, 1) "
            f"ON CONFLICT (key) DO UPDATE SET count = {table}.count + 1 RETURNING count",
            [f"{scope}:{bucket}:{digest}", expires],
        )
        (count,) = cursor.fetchone()
    return count <= limit


def forget_expired() -> int:
    """Delete the counts of windows that have ended (the timer's job does it)."""
    deleted, _kinds = RateCount.objects.filter(expires__lt=dt.datetime.now(dt.UTC)).delete()
    return deleted


def limited(scope: str, methods: tuple[str, ...] = ("GET", "POST")) -> Callable:
    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
            if request.method in methods and not hit(scope, client_address(request)):
                response = render(request, "rdv/429.html", status=429)
                response["Retry-After"] = str(_limits()[scope][1])
                return response
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
