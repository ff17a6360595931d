"""Agents' side: the appointments of their services' counters, day by day or week by week."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from rdv import booking, config
from rdv.forms import BlockForm
from rdv.middleware import Agent
from rdv.models import Appointment, Block, Status


def _agent(request: HttpRequest) -> Agent:
    return request.agent  # type: ignore[attr-defined,no-any-return]


def _service(request: HttpRequest, slug: str) -> config.Service:
    for service in _agent(request).services():
        if service.slug == slug:
            return service
    raise Http404  # not one of the agent's groups: same answer as a missing service


@never_cache
def index(request: HttpRequest) -> HttpResponse:
    return render(request, "rdv/agents/index.html", {
        "agent": _agent(request), "services": _agent(request).services(),
    })


@never_cache
def planning(request: HttpRequest, service: str) -> HttpResponse:
    srv = _service(request, service)
    tz = config.get().tz
    try:
        day = dt.date.fromisoformat(request.GET.get("jour", ""))
    except ValueError:
        day = timezone.localdate(timezone=tz)
    week = request.GET.get("vue") == "semaine"
    first = day - dt.timedelta(days=day.weekday()) if week else day
    days = 7 if week else 1
    start = dt.datetime.combine(first, dt.time(0), tz)
    end = start + dt.timedelta(days=days)
    appointments = Appointment.objects.filter(
        service=srv.slug, start__lt=end, end__gt=start
    ).order_by("start")
    blocks = Block.objects.filter(service=srv.slug, start__lt=end, end__gt=start).order_by("start")
    counters = []
    for counter in srv.counters:
        counters.append({
            "counter": counter,
            "appointments": [a for a in appointments if a.counter == counter.slug],
            "blocks": [b for b in blocks if b.counter == counter.slug],
        })
    form = BlockForm(counters=[(c.slug, c.name) for c in srv.counters],
                     initial={"day": day})
    step = dt.timedelta(days=days)
    return render(request, "rdv/agents/planning.html", {
        "agent": _agent(request), "service": srv, "counters": counters, "day": day,
        "first": first, "last": first + dt.timedelta(days=days - 1), "week": week,
        "prev": (first - step).isoformat(), "next": (first + step).isoformat(),
        "form": form, "motives": {m.slug: m.name for m in srv.motives},
        "now": timezone.now(), "message": request.GET.get("message", ""),
    })


def _back(srv: config.Service, request: HttpRequest, message: str = "") -> HttpResponse:
    url = reverse("agents-planning", args=[srv.slug])
    query = request.POST.get("retour", "")
    sep = "?" + query + "&" if query else "?"
    return redirect(url + sep + "message=" + quote(message))


@require_POST
def set_status(request: HttpRequest, service: str, uid: str) -> HttpResponse:
    srv = _service(request, service)
    appointment = Appointment.objects.filter(service=srv.slug, uid=uid).first()
    if appointment is None:
        raise Http404
    action = request.POST.get("action")
    if action == "honore":
        booking.mark(appointment, Status.HONOURED)
        return _back(srv, request, _("Rendez-vous marqué comme honoré."))
    if action == "absent":
        booking.mark(appointment, Status.NO_SHOW)
        return _back(srv, request, _("Rendez-vous marqué comme non honoré."))
    if action == "annuler":
        booking.cancel(appointment, by=_agent(request).login)
        return _back(srv, request, _("Rendez-vous annulé ; la personne a été prévenue."))
    raise Http404


@require_POST
def add_block(request: HttpRequest, service: str) -> HttpResponse:
    srv = _service(request, service)
    form = BlockForm(request.POST, counters=[(c.slug, c.name) for c in srv.counters])
    if not form.is_valid():
        errors = "; ".join(e for errs in form.errors.values() for e in errs)
        return _back(srv, request, errors)
    data = form.cleaned_data
    tz = config.get().tz
    if data["whole_day"]:
        start = dt.datetime.combine(data["day"], dt.time(0), tz)
        end = start + dt.timedelta(days=1)
    else:
        start = dt.datetime.combine(data["day"], data["start"], tz)
        end = dt.datetime.combine(data["day"], data["end"], tz)
    try:
        booking.block(srv, data["counter"], start, end, data["reason"], _agent(request).login)
    except booking.SlotTaken:
        return _back(srv, request, _(
            "Impossible de bloquer : un rendez-vous ou un blocage occupe déjà ce guichet."
        ))
    return _back(srv, request, _("Créneau bloqué."))


@require_POST
def remove_block(request: HttpRequest, service: str, pk: int) -> HttpResponse:
    srv = _service(request, service)
    Block.objects.filter(service=srv.slug, pk=pk).delete()
    return _back(srv, request, _("Blocage supprimé."))
