"""The entry of a commune's record of processing activities (registre des activités de
traitement, RGPD article 30) for its appointment booking, in French, from the inventory: who is
responsible, what is collected, who sees it, how long it is kept, where it lives. The commune's
DPO completes and signs it; bastide writes what the deployment makes true."""

from __future__ import annotations

from typing import Any

from bastide.core.inventory import Inventory, catalogue
from bastide.core.rdv.commune import booking_commune, site_url


def _place(provider: str, region: str) -> str:
    found = catalogue.providers().get(provider)
    if found is None:
        return f"{provider}, {region}"
    where = found.regions.get(region)
    city = f" ({where.city})" if where is not None and where.city else ""
    return f"{found.label}, région {region}{city}, {found.jurisdiction}"


def registre(inventory: Inventory, slug: str) -> str:
    commune = booking_commune(inventory, slug)
    settings: dict[str, Any] = commune.service_settings("rdv") or {}
    host = inventory.host(commune.host)
    target = inventory.backup_target(commune.backup_target)
    syndicat = inventory.syndicat
    people = {a.login: a for a in commune.agents}
    services = settings.get("services") or []
    lines = [
        f"# Registre des activités de traitement – Mairie de {commune.name}",
        "",
        "## Prise de rendez-vous en ligne avec les services de la mairie",
        "",
        f"- **Responsable du traitement** : commune de {commune.name} (code INSEE {commune.insee}), "
        "représentée par son maire.",
        f"- **Sous-traitant** : {syndicat.name} (SIREN {syndicat.siren}), qui héberge et exploite le "
        f"service ; contact : {syndicat.contact_email}.",
        f"- **Adresse du service** : {site_url(commune)}/",
        "- **Finalité** : permettre aux usagers de prendre, déplacer et annuler un rendez-vous avec un "
        "service de la mairie, et aux agents d'organiser leur accueil.",
        "- **Base légale** : exécution d'une mission d'intérêt public (article 6.1.e du RGPD).",
        "- **Personnes concernées** : les usagers qui prennent rendez-vous.",
        "- **Données collectées** : nom et prénom, adresse électronique, numéro de téléphone "
        "(facultatif), motif, date et heure du rendez-vous, et si le rendez-vous a été honoré. "
        "L'adresse IP de l'usager sert seulement à limiter les abus (compteurs de courte durée, "
        "non conservés).",
        "- **Destinataires** : les agents qui reçoivent les rendez-vous, chacun pour son service :",
    ]
    for entry in services:
        agents = sorted({login for c in entry["counters"] for login in c["agents"]})
        names = ", ".join(people[a].name if a in people else a for a in agents)
        motives = ", ".join(m["name"] for m in entry["motives"])
        lines.append(f"  - {entry['service']} ({motives}) : {names}")
    if not services:
        lines.append("  - (aucun service ne reçoit encore sur rendez-vous)")
    lines += [
        "  Chaque rendez-vous est aussi inscrit dans l'agenda du service et de l'agent, hébergés au "
        "même endroit.",
        f"- **Durée de conservation** : les données personnelles sont effacées automatiquement "
        f"{settings.get('retention_days', 30)} jours après le rendez-vous (tâche quotidienne) ; seuls "
        "restent des comptages anonymes (rendez-vous, annulations, absences par motif et par semaine).",
        "- **Courriels** : confirmation, rappel "
        f"({settings.get('reminder_hours', 24)} heures avant) et annulation, envoyés par le serveur "
        "de courrier du syndicat.",
        f"- **Hébergement** : {_place(host.provider, host.region)} (serveur {host.name}).",
        f"- **Cible de sauvegarde de la commune** : {_place(target.provider, target.region)}.",
        "- **Transferts hors de l'Union européenne** : aucun. Les pages n'appellent aucun service "
        "tiers (ni police de caractères, ni statistiques, ni CAPTCHA).",
        "- **Mesures de sécurité** : chiffrement TLS, accès des agents par le portail d'identification "
        "du syndicat, application isolée par commune (compte système et base de données propres), "
        "serveurs durcis (guide ANSSI BP-028). Le journal d'accès du serveur web garde l'adresse IP et "
        "la page demandée pendant 14 jours, jamais les liens privés des usagers.",
        "- **Droits des personnes** : accès, rectification, effacement et limitation auprès de la "
        "mairie ; l'usager peut annuler son rendez-vous à tout moment par le lien reçu par courriel.",
        "",
    ]
    return "\n".join(lines)
