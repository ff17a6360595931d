"""Citizens' pages. No account, no cookie, no JavaScript.

The public views are CSRF-exempt on purpose: they are embedded in the commune's website,
where third-party cookies are usually blocked, and there is no session for a forged request
to ride on (the private link's token in the URL is the only credential).
"""

from __future__ import annotations

import datetime as dt
import itertools

from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, translate_url
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from rdv import booking, config, slots
from rdv.forms import BookingForm
from rdv.middleware import is_agents_path
from rdv.models import Status
from rdv.ratelimit import limited

WEEK = dt.timedelta(days=7)


def commune(request: HttpRequest) -> dict[str, object]:
    conf = config.get()
    path = request.get_full_path()
    if is_agents_path(request.path_info):
        return {"commune_name": conf.commune_name, "switch": []}
    return {
        "commune_name": conf.commune_name,
        "switch": [
            (code, label, translate_url(path, code))
            for code, label in (("fr", "Français"), ("en", "English"))
            if code != get_language()
        ],
    }


def health(request: HttpRequest) -> HttpResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        return HttpResponse("base de données injoignable", status=503, content_type="text/plain")
    return HttpResponse("ok", content_type="text/plain")


def _service_motive(service_slug: str, motive_slug: str) -> tuple[config.Service, config.Motive]:
    service = config.get().service(service_slug)
    motive = service.motive(motive_slug) if service else None
    if service is None or motive is None:
        raise Http404
    return service, motive


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "rdv/home.html", {"services": config.get().services})


def _week_page(request: HttpRequest, all_slots: list[slots.Slot]) -> dict[str, object]:
    """Seven days of slots at a time, from the first day with one (or the requested week)."""
    tz = config.get().tz
    try:
        offset = max(0, int(request.GET.get("semaine", "0")))
    except ValueError:
        offset = 0
    if not all_slots:
        return {"days": [], "offset": 0, "has_next": False}
    first = all_slots[0].start.astimezone(tz).date() + offset * WEEK
    last = first + WEEK
    shown = [s for s in all_slots if first <= s.start.astimezone(tz).date() < last]
    days = [
        (day, list(group))
        for day, group in itertools.groupby(shown, key=lambda s: s.start.astimezone(tz).date())
    ]
    has_next = any(s.start.astimezone(tz).date() >= last for s in all_slots)
    return {"days": days, "offset": offset, "has_next": has_next, "first": first,
            "last": last - dt.timedelta(days=1), "prev": offset - 1, "next": offset + 1}


@never_cache
@limited("search")
def motive_slots(request: HttpRequest, service: str, motive: str) -> HttpResponse:
    srv, mot = _service_motive(service, motive)
    page = _week_page(request, slots.free_slots(srv, mot))
    return render(request, "rdv/slots.html", {"service": srv, "motive": mot, **page})


@csrf_exempt
@never_cache
@limited("booking", methods=("POST",))
@require_http_methods(["GET", "POST"])
def book(request: HttpRequest, service: str, motive: str) -> HttpResponse:
    srv, mot = _service_motive(service, motive)
    key = request.POST.get("creneau") or request.GET.get("creneau", "")
    available = slots.free_slots(srv, mot)
    slot = slots.find(available, key)
    context: dict[str, object] = {"service": srv, "motive": mot, "slot": slot}
    if slot is None:
        return _taken(request, srv, mot, available, _("Ce créneau n'est pas disponible."))
    if request.method == "GET":
        form = BookingForm(initial={"creneau": key})
        return render(request, "rdv/book.html", {**context, "form": form})
    form = BookingForm(request.POST)
    if not form.is_valid():
        return render(request, "rdv/book.html", {**context, "form": form}, status=400)
    data = form.cleaned_data
    citizen = booking.Citizen(data["name"], data["email"], data["phone"])
    try:
        _appointment, token = booking.book(srv, mot, key, citizen,
                                           language=get_language() or "fr")
    except booking.AlreadyBooked:
        form.add_error("email", _(
            "Un rendez-vous pour ce motif est déjà enregistré avec cette adresse. "
            "Utilisez le lien reçu par courriel pour le déplacer ou l'annuler."
        ))
        return render(request, "rdv/book.html", {**context, "form": form}, status=409)
    except (booking.SlotTaken, booking.SlotUnavailable):
        return _taken(request, srv, mot, slots.free_slots(srv, mot),
                      _("Ce créneau vient d'être pris. Choisissez-en un autre."))
    return redirect(reverse("manage", args=[token]) + "?confirme=1")


def _taken(request: HttpRequest, srv: config.Service, mot: config.Motive,
           available: list[slots.Slot], message: str) -> HttpResponse:
    page = _week_page(request, available)
    return render(request, "rdv/slots.html",
                  {"service": srv, "motive": mot, "error": message, **page}, status=409)


def _appointment_context(appointment: booking.Appointment) -> dict[str, object]:
    conf = config.get()
    srv = conf.service(appointment.service)
    mot = srv.motive(appointment.motive) if srv else None
    counter = srv.counter(appointment.counter) if srv else None
    return {
        "appointment": appointment, "service": srv, "motive": mot, "counter": counter,
        "start": appointment.start.astimezone(conf.tz), "end": appointment.end.astimezone(conf.tz),
        "is_booked": appointment.status == Status.BOOKED and appointment.end > timezone.now(),
    }


@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def manage(request: HttpRequest, token: str) -> HttpResponse:
    appointment = booking.by_token(token)
    if appointment is None:
        return render(request, "rdv/unknown.html", status=404)
    context = _appointment_context(appointment)
    if request.method == "POST" and request.POST.get("action") == "annuler":
        if context["is_booked"]:
            booking.cancel(appointment)
        return redirect(reverse("manage", args=[token]) + "?annule=1")
    return render(request, "rdv/manage.html", {
        **context, "token": token,
        "confirmed": "confirme" in request.GET, "cancelled_now": "annule" in request.GET,
        "moved_now": "deplace" in request.GET,
    })


@csrf_exempt
@never_cache
@limited("search", methods=("GET",))
@limited("booking", methods=("POST",))
@require_http_methods(["GET", "POST"])
def move(request: HttpRequest, token: str) -> HttpResponse:
    appointment = booking.by_token(token)
    if appointment is None:
        return render(request, "rdv/unknown.html", status=404)
    context = _appointment_context(appointment)
    if not context["is_booked"]:
        return redirect("manage", token)
    srv, mot = context["service"], context["motive"]
    assert isinstance(srv, config.Service) and isinstance(mot, config.Motive)
    error = None
    if request.method == "POST":
        key = request.POST.get("creneau", "")
        try:
            booking.move(appointment, key, token)
        except booking.SlotTaken:
            error = _("Ce créneau vient d'être pris. Choisissez-en un autre.")
        except booking.SlotUnavailable:
            error = _("Choisissez un créneau dans la liste.")
        else:
            return redirect(reverse("manage", args=[token]) + "?deplace=1")
    page = _week_page(request, slots.free_slots(srv, mot, exclude=appointment.pk))
    return render(request, "rdv/move.html", {**context, **page, "token": token, "error": error},
                  status=409 if error else 200)
