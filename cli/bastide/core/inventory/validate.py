"""Validation of a whole inventory: every file, every value, and the rules between them.

All problems are collected, never just the first: an administrator fixes an inventory in one
pass. A part that is itself invalid (a host with a bad address) is left out of the rules that
relate it to others, but its name still counts, so a commune on that host is not also reported
as being on an unknown host.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from bastide.core import contract
from bastide.core.inventory import catalogue, formats, service_settings, yamlsource
from bastide.core.inventory.model import (
    BackupTarget,
    Commune,
    Host,
    Identity,
    Inventory,
    Residency,
    Settings,
    Syndicat,
    SyndicatFile,
)
from bastide.core.inventory.yamlsource import Loc, Source
from bastide.errors import Problem
from bastide.i18n import Messages

_ = Messages("inventory")

SYNDICAT_FILE = "syndicat.yml"
COMMUNES_DIR = "communes"


# --------------------------------------------------------------------------- pydantic → Problem


def _type_name(value: Any) -> str:
    if value is None:
        return _("type.null")
    if isinstance(value, bool):
        return _("type.bool")
    if isinstance(value, int | float):
        return _("type.number")
    if isinstance(value, str):
        return _("type.text")
    if isinstance(value, list):
        return _("type.list")
    if isinstance(value, dict):
        return _("type.mapping")
    return type(value).__name__


def _unwrap(annotation: Any) -> Any:
    """The model inside ``list[M]``, ``M | None``, ``Annotated[M, ...]``; else the annotation."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (list, typing.Union, types.UnionType):
            inner = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
            if not inner:
                return annotation
            annotation = inner[0]
        else:
            return annotation


def _model_at(model: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        info = current.model_fields.get(part)
        if info is None:
            return None
        current = _unwrap(info.annotation)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _suggest(word: str, choices: typing.Iterable[str]) -> str | None:
    matches = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return matches[0] if matches else None


def problems_from(
    error: ValidationError, source: Source, prefix: Loc, model: type[BaseModel]
) -> list[Problem]:
    problems = []
    for item in error.errors(include_url=False):
        rel: Loc = tuple(item["loc"])
        loc: Loc = (*prefix, *rel)
        kind = item["type"]
        value = item.get("input")
        name = str(rel[-1]) if rel else ""
        ctx = item.get("ctx") or {}
        if kind == "bastide":
            message, fix = item["msg"], ctx["fix"]
        elif kind == "missing":
            message, fix = _("field.missing"), _("field.missing.fix", name=name)
        elif kind == "extra_forbidden":
            parent = _model_at(model, rel[:-1])
            allowed = sorted(parent.model_fields) if parent else []
            guess = _suggest(name, allowed)
            message = _("field.unknown", name=name)
            fix = (
                _("field.unknown.fix_suggest", guess=guess)
                if guess
                else _("field.unknown.fix", allowed=", ".join(allowed))
            )
        elif kind == "string_type":
            message = _("type.expected", expected=_("type.text"), got=_type_name(value))
            fix = _("type.text.fix") if isinstance(value, int | float) else _("type.fix")
        elif kind in ("int_type", "int_from_float"):
            message = _("type.expected", expected=_("type.number"), got=_type_name(value))
            fix = _("type.fix")
        elif kind == "bool_type":
            message = _("type.expected", expected=_("type.bool"), got=_type_name(value))
            fix = _("type.fix")
        elif kind == "list_type":
            message = _("type.expected", expected=_("type.list"), got=_type_name(value))
            fix = _("type.list.fix")
        elif kind in ("model_type", "dict_type", "model_attributes_type"):
            message = _("type.expected", expected=_("type.mapping"), got=_type_name(value))
            fix = _("type.mapping.fix")
        elif kind == "too_short":
            message, fix = _("list.empty"), _("list.empty.fix")
        else:
            message, fix = _("field.invalid", detail=item["msg"]), _("type.fix")
        problems.append(source.problem(loc, message, fix))
    return problems


def _validated(
    model: type[BaseModel], data: Any, source: Source, prefix: Loc, problems: list[Problem]
) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        problems.extend(problems_from(error, source, prefix, model))
        return None


# --------------------------------------------------------------------------- the parts


@dataclass
class Parts:
    """What could be read and validated on its own, ahead of the rules that relate the parts."""

    syndicat: Syndicat | None = None
    residency: Residency | None = None
    settings: Settings | None = None
    identity: Identity | None = None
    lab: bool = False
    hosts: list[tuple[int, Host]] = field(default_factory=list)
    host_names: set[str] = field(default_factory=set)
    targets: list[tuple[int, BackupTarget]] = field(default_factory=list)
    target_names: set[str] = field(default_factory=set)
    communes: list[tuple[Source, Commune]] = field(default_factory=list)
    sections_ok: bool = True
    # The services' sections of syndicat.yml as written, then as checked (with defaults).
    service_sections: dict[str, Any] = field(default_factory=dict)
    service_settings: dict[str, dict[str, Any]] = field(default_factory=dict)


def _schemas(level: str) -> dict[str, dict[str, Any]]:
    """The services whose contracts declare a section at ``level`` (commune, syndicat)."""
    found = {}
    for name, service in catalogue.services().items():
        schema = service.settings_schema.get(level)
        if schema:
            found[name] = schema
    return found


def _syndicat_parts(source: Source, problems: list[Problem]) -> Parts:
    parts = Parts()
    data = source.data
    if not isinstance(data, dict):
        parts.sections_ok = False
        return parts
    allowed = SyndicatFile.model_fields
    services = _schemas("syndicat")
    for key in data:
        if key in services:
            parts.service_sections[key] = data[key]
        elif key not in allowed:
            guess = _suggest(str(key), allowed)
            fix = (
                _("field.unknown.fix_suggest", guess=guess)
                if guess
                else _("field.unknown.fix", allowed=", ".join(allowed))
            )
            problems.append(source.problem((key,), _("field.unknown", name=key), fix))
    for key, info in allowed.items():
        if info.is_required() and key not in data:
            problems.append(
                source.problem((), _("section.missing", name=key), _("section.missing.fix", name=key))
            )
            parts.sections_ok = False
    sections = (
        ("syndicat", Syndicat),
        ("residency", Residency),
        ("settings", Settings),
        ("identity", Identity),
    )
    for key, model in sections:
        if key in data:
            value = _validated(model, data[key], source, (key,), problems)
            setattr(parts, key, value)
            parts.sections_ok &= value is not None
    if "lab" in data:
        if isinstance(data["lab"], bool):
            parts.lab = data["lab"]
        else:
            problems.append(
                source.problem(
                    ("lab",),
                    _("type.expected", expected=_("type.bool"), got=_type_name(data["lab"])),
                    _("type.fix"),
                )
            )
    for key, model, kept, names in (
        ("hosts", Host, parts.hosts, parts.host_names),
        ("backup_targets", BackupTarget, parts.targets, parts.target_names),
    ):
        items = data.get(key, [])
        if items is None:
            items = []
        if not isinstance(items, list):
            problems.append(
                source.problem(
                    (key,),
                    _("type.expected", expected=_("type.list"), got=_type_name(items)),
                    _("type.list.fix"),
                )
            )
            parts.sections_ok = False
            continue
        for index, item in enumerate(items):
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                names.add(item["name"])
            value = _validated(model, item, source, (key, index), problems)
            if value is None:
                parts.sections_ok = False
            else:
                kept.append((index, value))
    return parts


# --------------------------------------------------------------------------- the rules


def _duplicates(
    source: Source, entries: list[tuple[Loc, str]], key: str, problems: list[Problem], *, fold: bool = False
) -> None:
    first: dict[str, Loc] = {}
    for loc, value in entries:
        norm = value.casefold() if fold else value
        if norm in first:
            problems.append(
                source.problem(
                    loc,
                    _(key, value=value, first=yamlsource.field_path(first[norm])),
                    _(f"{key}.fix", value=value),
                )
            )
        else:
            first[norm] = loc


def _check_placement(
    source: Source,
    loc: Loc,
    provider: str,
    region: str,
    residency: Residency | None,
    problems: list[Problem],
) -> None:
    """A host or backup target: a known provider, one of its regions, inside the residency policy."""
    providers = catalogue.providers()
    known = providers.get(provider)
    if known is None:
        guess = _suggest(provider, providers)
        problems.append(
            source.problem(
                (*loc, "provider"),
                _("provider.unknown", provider=provider),
                _("provider.unknown.fix", known=", ".join(providers), guess=guess or "-"),
            )
        )
        return
    region_info = known.regions.get(region)
    if region_info is None:
        problems.append(
            source.problem(
                (*loc, "region"),
                _("region.not_of_provider", region=region, provider=provider),
                _("region.not_of_provider.fix", provider=provider, regions=", ".join(known.regions)),
            )
        )
    if residency is None:
        return
    if provider not in residency.providers:
        where = (
            _("residency.region_in", region=region, country=region_info.country)
            if region_info is not None
            else ""
        )
        problems.append(
            source.problem(
                (*loc, "provider"),
                _(
                    "residency.provider",
                    provider=provider,
                    label=known.label,
                    jurisdiction=known.jurisdiction,
                    where=where,
                ),
                _("residency.provider.fix", allowed=", ".join(residency.providers), provider=provider),
            )
        )
    elif region_info is not None and region not in residency.regions:
        problems.append(
            source.problem(
                (*loc, "region"),
                _("residency.region", region=region, country=region_info.country),
                _("residency.region.fix", allowed=", ".join(residency.regions), region=region),
            )
        )


def _check_residency(source: Source, residency: Residency, problems: list[Problem]) -> None:
    providers = catalogue.providers()
    for index, name in enumerate(residency.providers):
        if name not in providers:
            problems.append(
                source.problem(
                    ("residency", "providers", index),
                    _("provider.unknown", provider=name),
                    _(
                        "provider.unknown.fix",
                        known=", ".join(providers),
                        guess=_suggest(name, providers) or "-",
                    ),
                )
            )
    regions = catalogue.all_regions()
    for index, name in enumerate(residency.regions):
        if name not in regions:
            problems.append(
                source.problem(
                    ("residency", "regions", index),
                    _("region.unknown", region=name),
                    _("region.unknown.fix", guess=_suggest(name, regions) or "-"),
                )
            )


def _check_settings(source: Source, settings: Settings, root: Path, problems: list[Problem]) -> None:
    admins = [admin.name for admin in settings.admins]
    _duplicates(
        source,
        [(("settings", "admins", i, "name"), name) for i, name in enumerate(admins)],
        "admin.duplicate",
        problems,
    )
    if settings.ssh.user not in admins:
        problems.append(
            source.problem(
                ("settings", "ssh", "user"),
                _("ssh.user_not_admin", user=settings.ssh.user),
                _("ssh.user_not_admin.fix", admins=", ".join(admins), user=settings.ssh.user),
            )
        )
    tls = settings.tls
    if tls.mode == "acme":
        for name in ("acme_email", "acme_directory"):
            if getattr(tls, name) is None:
                problems.append(
                    source.problem(
                        ("settings", "tls", name), _("tls.acme_needs", name=name), _(f"tls.{name}.fix")
                    )
                )
    for index, name in enumerate(settings.extra_trusted_cas):
        _check_ca_file(source, ("settings", "extra_trusted_cas", index), root, name, problems)


def _check_ca_file(source: Source, loc: Loc, root: Path, name: str, problems: list[Problem]) -> None:
    from cryptography import x509

    path = (root / name).expanduser()
    try:
        content = path.read_bytes()
    except OSError:
        problems.append(source.problem(loc, _("ca.missing", path=str(path)), _("ca.missing.fix")))
        return
    try:
        x509.load_pem_x509_certificates(content)
    except ValueError:
        problems.append(source.problem(loc, _("ca.not_pem", path=name), _("ca.not_pem.fix")))


def _check_hosts(source: Source, parts: Parts, problems: list[Problem]) -> None:
    services = catalogue.services()
    _duplicates(
        source, [(("hosts", i, "name"), h.name) for i, h in parts.hosts], "host.duplicate_name", problems
    )
    _duplicates(
        source,
        [(("hosts", i, "address"), h.address) for i, h in parts.hosts],
        "host.duplicate_address",
        problems,
    )
    for index, host in parts.hosts:
        _check_placement(source, ("hosts", index), host.provider, host.region, parts.residency, problems)
        _check_services(source, ("hosts", index, "services"), host.services, set(services), problems)
    _duplicates(
        source,
        [(("backup_targets", i, "name"), t.name) for i, t in parts.targets],
        "target.duplicate_name",
        problems,
    )
    for index, target in parts.targets:
        _check_placement(
            source, ("backup_targets", index), target.provider, target.region, parts.residency, problems
        )
        _check_object_lock(source, ("backup_targets", index), target, problems)


BUCKET_MAX = 63  # S3 bucket names


def _check_object_lock(source: Source, loc: Loc, target: BackupTarget, problems: list[Problem]) -> None:
    """Backups are locked (S3 Object Lock): the target's provider must offer the mode and the
    retention the inventory asks for (providers.yml, ``object_storage``)."""
    known = catalogue.providers().get(target.provider)
    if known is None:
        return  # reported by the placement check
    storage = known.object_storage
    if storage is None:
        able = ", ".join(name for name, p in catalogue.providers().items() if p.object_storage)
        problems.append(
            source.problem(
                (*loc, "provider"),
                _("target.no_object_lock", provider=target.provider),
                _("target.no_object_lock.fix", providers=able),
            )
        )
        return
    if target.lock_mode not in storage.lock_modes:
        problems.append(
            source.problem(
                (*loc, "lock_mode"),
                _("target.lock_mode", mode=target.lock_mode, provider=target.provider),
                _("target.lock_mode.fix", modes=", ".join(storage.lock_modes)),
            )
        )
    if target.retention_days > storage.max_retention_days:
        problems.append(
            source.problem(
                (*loc, "retention_days"),
                _("target.retention", days=target.retention_days, provider=target.provider),
                _("target.retention.fix", days=storage.max_retention_days),
            )
        )
    if target.keep_days is not None and target.keep_days < target.retention_days:
        problems.append(
            source.problem(
                (*loc, "keep_days"),
                _("target.keep_days", keep=target.keep_days, days=target.retention_days),
                _("target.keep_days.fix", days=target.retention_days),
            )
        )


def _check_services(
    source: Source, loc: Loc, names: list[str], allowed: set[str], problems: list[Problem]
) -> None:
    catalogue_names = catalogue.services()
    seen: set[str] = set()
    for index, name in enumerate(names):
        if name in seen:
            problems.append(
                source.problem((*loc, index), _("service.repeated", service=name), _("service.repeated.fix"))
            )
        seen.add(name)
        if name not in catalogue_names:
            problems.append(
                source.problem(
                    (*loc, index),
                    _("service.unknown", service=name),
                    _(
                        "service.unknown.fix",
                        known=", ".join(catalogue_names),
                        guess=_suggest(name, catalogue_names) or "-",
                    ),
                )
            )


def _check_references(
    source: Source,
    host_name: str | None,
    services: list[str] | None,
    backup_target: str | None,
    parts: Parts,
    problems: list[Problem],
) -> None:
    """A commune's host, services and backup target exist (and the host runs the services)."""
    if services is not None:
        _check_services(source, ("services",), services, set(catalogue.services()), problems)
        known = catalogue.services()
        for index, service in enumerate(services):
            for required in (known[service].contract.get("requires") or []) if service in known else []:
                if required not in services:
                    problems.append(
                        source.problem(
                            ("services", index),
                            _("commune.service_requires", service=service, required=required),
                            _("commune.service_requires.fix", service=service, required=required),
                        )
                    )
    host = {h.name: h for _i, h in parts.hosts}.get(host_name)
    if host_name is None:
        pass
    elif host_name not in parts.host_names:
        guess = _suggest(host_name, parts.host_names)
        problems.append(
            source.problem(
                ("host",),
                _("commune.unknown_host", host=host_name),
                _(
                    "commune.unknown_host.fix",
                    hosts=", ".join(sorted(parts.host_names)) or "-",
                    guess=guess or "-",
                ),
            )
        )
    elif host is not None:
        for index, service in enumerate(services or []):
            if service in catalogue.services() and service not in host.services:
                problems.append(
                    source.problem(
                        ("services", index),
                        _("commune.service_not_on_host", service=service, host=host.name),
                        _("commune.service_not_on_host.fix", service=service, host=host.name),
                    )
                )
    if backup_target is not None and backup_target not in parts.target_names:
        problems.append(
            source.problem(
                ("backup_target",),
                _("commune.unknown_target", target=backup_target),
                _("commune.unknown_target.fix", targets=", ".join(sorted(parts.target_names)) or "-"),
            )
        )
    slug = source.data.get("slug") if isinstance(source.data.get("slug"), str) else None
    generation = source.data.get("backup_generation")
    generation = generation if isinstance(generation, int) and generation > 0 else 0
    for _index, target in parts.targets:
        bucket = target.commune_bucket(slug, generation) if slug else ""
        if slug and target.name == backup_target and len(bucket) > BUCKET_MAX:
            problems.append(
                source.problem(
                    ("backup_target",),
                    _("commune.bucket_too_long", bucket=bucket, max=BUCKET_MAX),
                    _("commune.bucket_too_long.fix", prefix=target.bucket),
                )
            )


def _check_raw_references(source: Source, parts: Parts, problems: list[Problem]) -> None:
    """A commune that failed validation still gets its references checked, where readable."""
    data = source.data
    host = data.get("host") if isinstance(data.get("host"), str) else None
    raw = data.get("services")
    services = raw if isinstance(raw, list) and all(isinstance(x, str) for x in raw) else None
    target = data.get("backup_target") if isinstance(data.get("backup_target"), str) else None
    _check_references(source, host, services, target, parts, problems)


def _check_identity(source: Source, parts: Parts, problems: list[Problem]) -> None:
    identity = parts.identity
    if identity is not None and identity.host not in parts.host_names:
        problems.append(
            source.problem(
                ("identity", "host"),
                _("identity.unknown_host", host=identity.host),
                _("identity.unknown_host.fix", hosts=", ".join(sorted(parts.host_names)) or "-"),
            )
        )


def _check_login(
    source: Source,
    loc: Loc,
    given: str | None,
    login: str,
    where: str,
    seen: dict[str, str],
    problems: list[Problem],
) -> None:
    """Logins are unique across the syndicat: one portal, one directory for every commune."""
    if given is None:
        try:
            formats.login(login)
        except formats.Invalid:
            problems.append(
                source.problem((*loc, "email"), _("login.derived", login=login), _("login.derived.fix"))
            )
            return
    if login in seen:
        field_name = "id" if given is not None else "email"
        problems.append(
            source.problem(
                (*loc, field_name),
                _("login.duplicate", login=login, other=seen[login]),
                _("login.duplicate.fix"),
            )
        )
    else:
        seen[login] = where


def _check_second_factor(
    source: Source, second_factor: str, identity: Identity | None, problems: list[Problem]
) -> None:
    if second_factor != "required":
        return
    if identity is None:
        problems.append(
            source.problem(
                ("second_factor",), _("second_factor.no_identity"), _("second_factor.no_identity.fix")
            )
        )
    elif not identity.totp_self_enrolment:
        problems.append(
            source.problem(
                ("second_factor",), _("second_factor.no_enrolment"), _("second_factor.no_enrolment.fix")
            )
        )


def _check_communes(parts: Parts, problems: list[Problem]) -> None:
    seen_slug: dict[str, Source] = {}
    seen_domain: dict[str, Source] = {}
    seen_insee: dict[str, Source] = {}
    seen_email: dict[str, str] = {}
    seen_login: dict[str, str] = {}
    all_fqdns: dict[str, Source] = {}
    for source, commune in parts.communes:
        expected = source.path.stem
        if source.path.suffix == ".yml" and commune.slug != expected:
            problems.append(
                source.problem(
                    ("slug",),
                    _("slug.file_name", slug=commune.slug, file=source.path.name),
                    _("slug.file_name.fix", slug=commune.slug, stem=expected),
                )
            )
        for seen, value, key, loc in (
            (seen_slug, commune.slug, "commune.duplicate_slug", ("slug",)),
            (seen_domain, commune.domain, "commune.duplicate_domain", ("domain",)),
            (seen_insee, commune.insee, "commune.duplicate_insee", ("insee",)),
        ):
            if value in seen:
                problems.append(
                    source.problem(loc, _(key, value=value, other=seen[value].where()), _(f"{key}.fix"))
                )
            else:
                seen[value] = source
        people = [("agents", i, p) for i, p in enumerate(commune.agents)]
        people += [("elus", i, p) for i, p in enumerate(commune.elus)]
        for kind, index, person in people:
            folded = person.email.casefold()
            where = f"{source.where()} {kind}[{index}]"
            if folded in seen_email:
                problems.append(
                    source.problem(
                        (kind, index, "email"),
                        _("agent.duplicate_email", value=person.email, other=seen_email[folded]),
                        _("agent.duplicate_email.fix"),
                    )
                )
                continue  # the same person twice: one problem is enough
            seen_email[folded] = where
            _check_login(source, (kind, index), person.id, person.login, where, seen_login, problems)
        _check_second_factor(source, commune.second_factor, parts.identity, problems)
        _check_references(source, commune.host, commune.services, commune.backup_target, parts, problems)
        for site in commune.sites():
            all_fqdns.setdefault(site.fqdn, source)
    # A commune whose domain is another commune's service name (docs.a.fr) would take its site.
    for source, commune in parts.communes:
        other = all_fqdns.get(commune.domain)
        if other is not None and other is not source:
            problems.append(
                source.problem(
                    ("domain",),
                    _("commune.fqdn_clash", fqdn=commune.domain, other=other.where()),
                    _("commune.duplicate_domain.fix"),
                )
            )


def _commune_settings(
    source: Source,
    commune: Commune,
    sections: dict[str, Any],
    schemas: dict[str, dict[str, Any]],
    parts: Parts,
    problems: list[Problem],
) -> dict[str, dict[str, Any]] | None:
    """The commune's services' sections, checked, with defaults; every service it runs with a
    schema gets its section even when the file has none (its defaults, or what is missing)."""
    found: dict[str, dict[str, Any]] = {}
    ok = True
    choices = service_settings.commune_choices(commune, parts.host_names)
    for name in sections:
        if name not in commune.services:
            problems.append(
                source.problem(
                    (name,),
                    _("settings.section.unused", name=name),
                    _("settings.section.unused.fix", name=name),
                )
            )
            ok = False
    for name in commune.services:
        if name not in schemas:
            continue
        checked = service_settings.check(
            schemas[name], sections.get(name), source, (name,), choices, problems
        )
        if checked is None:
            ok = False
            continue
        own_check = ((catalogue.services()[name].settings_schema) or {}).get("check")
        if own_check and not service_settings.run_check(
            contract.services()[name].path, own_check, checked, commune, source, (name,), problems
        ):
            ok = False
            continue
        found[name] = checked
    return found if ok else None


def _check_syndicat_settings(source: Source, parts: Parts, problems: list[Problem]) -> None:
    """The services' sections of syndicat.yml: required for a service some commune runs."""
    schemas = _schemas("syndicat")
    running = {name for _source, commune in parts.communes for name in commune.services}
    choices = {"bastide-host": sorted(parts.host_names)}
    for name, schema in schemas.items():
        if name not in running and name not in parts.service_sections:
            continue
        checked = service_settings.check(
            schema, parts.service_sections.get(name), source, (name,), choices, problems
        )
        if checked is None:
            parts.sections_ok = False
        else:
            parts.service_settings[name] = checked


# --------------------------------------------------------------------------- entry points


def read_sources(root: Path) -> tuple[Source | None, list[Source], list[Problem]]:
    """Parse ``syndicat.yml`` and ``communes/*.yml`` (syntax only)."""
    problems: list[Problem] = []
    if not root.is_dir():
        raise_missing = Problem(str(root), "", _("inventory.not_dir"), _("inventory.not_dir.fix"))
        return None, [], [raise_missing]
    syndicat, found = yamlsource.read(root / SYNDICAT_FILE, str(root / SYNDICAT_FILE))
    problems += found
    communes: list[Source] = []
    communes_dir = root / COMMUNES_DIR
    if communes_dir.is_dir():
        for path in sorted(communes_dir.iterdir()):
            if path.suffix == ".yaml":
                problems.append(
                    Problem(
                        str(path), "", _("commune.yaml_suffix"), _("commune.yaml_suffix.fix", stem=path.stem)
                    )
                )
            if path.suffix != ".yml" or path.name.startswith("."):
                continue
            source, found = yamlsource.read(path, str(path))
            problems += found
            if source is not None:
                communes.append(source)
    return syndicat, communes, problems


def check(
    root: Path, syndicat: Source | None, communes: list[Source]
) -> tuple[Inventory | None, list[Problem]]:
    """Validate parsed sources as one inventory; the inventory only when there is no problem."""
    problems: list[Problem] = []
    parts = Parts()
    if syndicat is not None:
        parts = _syndicat_parts(syndicat, problems)
        if parts.residency is not None:
            _check_residency(syndicat, parts.residency, problems)
        if parts.settings is not None:
            _check_settings(syndicat, parts.settings, root, problems)
        _check_hosts(syndicat, parts, problems)
        _check_identity(syndicat, parts, problems)
    communes_ok = True
    invalid: list[Source] = []
    schemas = _schemas("commune")
    for source in communes:
        if not isinstance(source.data, dict):
            communes_ok = False
            continue
        sections = {k: v for k, v in source.data.items() if k in schemas}
        rest = {k: v for k, v in source.data.items() if k not in schemas}
        commune = _validated(Commune, rest, source, (), problems)
        if commune is None:
            communes_ok = False
            invalid.append(source)
            continue
        settings = _commune_settings(source, commune, sections, schemas, parts, problems)
        if settings is None:
            communes_ok = False
        else:
            commune = commune.with_settings(settings)
        parts.communes.append((source, commune.with_source(source.path.resolve())))
    if syndicat is not None:
        _check_syndicat_settings(syndicat, parts, problems)
        _check_communes(parts, problems)
        for source in invalid:
            _check_raw_references(source, parts, problems)
    if problems or syndicat is None or not parts.sections_ok or not communes_ok:
        return None, problems
    assert parts.syndicat and parts.residency and parts.settings
    inventory = Inventory(
        root=root.resolve(),
        syndicat=parts.syndicat,
        residency=parts.residency,
        settings=parts.settings,
        hosts=[host for _index, host in parts.hosts],
        backup_targets=[target for _index, target in parts.targets],
        communes=[commune for _source, commune in parts.communes],
        identity=parts.identity,
        lab=parts.lab,
        service_settings=parts.service_settings,
    )
    return inventory, []


def sort_problems(problems: list[Problem]) -> list[Problem]:
    order = {name: index for index, name in enumerate(dict.fromkeys(p.file for p in problems))}
    return sorted(problems, key=lambda p: (order[p.file], p.line or 0))


def validate_dir(root: Path) -> tuple[Inventory | None, list[Problem]]:
    syndicat, communes, problems = read_sources(root)
    if syndicat is None and not problems:
        return None, problems
    inventory, found = check(root, syndicat, communes)
    problems = sort_problems(problems + found)
    return (inventory if not problems else None), problems


def counted(problems: list[Problem]) -> Counter[str]:
    return Counter(problem.file for problem in problems)


def check_with(root: Path, new: list[Source]) -> tuple[Inventory | None, list[Problem]]:
    """Validate the inventory at ``root`` as if the communes ``new`` were added to it."""
    syndicat, communes, problems = read_sources(root)
    if syndicat is None:
        return None, problems
    inventory, found = check(root, syndicat, communes + new)
    problems = sort_problems(problems + found)
    return (inventory if not problems else None), problems
