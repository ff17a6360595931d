"""What a commune's webmaster pastes into the commune's own website: a link button and an
iframe, no script of anyone's. The booking's pages may be framed only by the website the
inventory declares (`rdv.website`), which its Content-Security-Policy says (frame-ancestors)."""

from __future__ import annotations

import html
from dataclasses import dataclass

from bastide.core.inventory import Inventory
from bastide.core.rdv.commune import booking_commune, site_url


@dataclass
class Embed:
    url: str
    website: str | None
    snippet: str


def embed(inventory: Inventory, slug: str) -> Embed:
    commune = booking_commune(inventory, slug)
    url = site_url(commune)
    website = (commune.service_settings("rdv") or {}).get("website")
    title = html.escape(f"Prendre rendez-vous – Mairie de {commune.name}", quote=True)
    snippet = (
        f"<!-- Prise de rendez-vous de la mairie de {html.escape(commune.name)} (bastide) -->\n"
        f'<p><a href="{url}/" class="bouton-rdv" target="_blank" rel="noopener">'
        "Prendre rendez-vous en mairie</a></p>\n"
        f'<iframe src="{url}/" title="{title}" width="100%" height="900" loading="lazy" '
        'style="border:0;max-width:60rem" referrerpolicy="no-referrer"></iframe>\n'
    )
    return Embed(url=url, website=website, snippet=snippet)
