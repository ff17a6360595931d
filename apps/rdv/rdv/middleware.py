"""Who may frame which page, and the gate of the agents' side."""

from __future__ import annotations

import hmac
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden

from rdv import config

AGENTS_PREFIX = "/agents/"


def is_agents_path(path: str) -> bool:
    return path == AGENTS_PREFIX.rstrip("/") or path.startswith(AGENTS_PREFIX)


class AgentGateMiddleware:
    """The agents' side trusts the SSO's identity headers only when nginx proves it sent them.

    nginx adds X-Bastide-Secret on the agents' location only; a request reaching gunicorn
    any other way (or forged through the public location) lacks it, whatever Remote-User says.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_agents_path(request.path_info):
            sent = request.headers.get("X-Bastide-Secret", "")
            expected: str = settings.HEADER_SECRET
            if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
                return HttpResponseForbidden("403")
            user = request.headers.get("Remote-User", "").strip()
            if not user:
                return HttpResponseForbidden("403")
            groups = request.headers.get("Remote-Groups", "")
            request.agent = Agent(  # type: ignore[attr-defined]
                login=user,
                name=request.headers.get("Remote-Name", "").strip() or user,
                email=request.headers.get("Remote-Email", "").strip(),
                groups=frozenset(g.strip() for g in groups.split(";") if g.strip()),
            )
        return self.get_response(request)


class Agent:
    def __init__(self, login: str, name: str, email: str, groups: frozenset[str]) -> None:
        self.login = login
        self.name = name
        self.email = email
        self.groups = groups

    def services(self) -> list[config.Service]:
        return [s for s in config.get().services if s.group in self.groups]


class ContentSecurityPolicyMiddleware:
    """Everything is served by the application itself; the public pages may be embedded in
    the commune's website, the agents' pages nowhere."""

    BASE = (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "form-action 'self'; base-uri 'none'; object-src 'none'"
    )

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        website = config.get().website
        self.public = f"{self.BASE}; frame-ancestors 'self'" + (f" {website}" if website else "")
        self.agents = f"{self.BASE}; frame-ancestors 'none'"

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if is_agents_path(request.path_info):
            response["Content-Security-Policy"] = self.agents
            response["X-Frame-Options"] = "DENY"
        else:
            response["Content-Security-Policy"] = self.public
        return response
