"""docs/inventory.md stays in step with the model and the catalogues."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from bastide.core import contract
from bastide.core.inventory import catalogue, model

DOC = (Path(__file__).resolve().parents[2] / "docs" / "inventory.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "cls",
    [
        model.Syndicat,
        model.Residency,
        model.Admin,
        model.SshSettings,
        model.SmtpRelay,
        model.TlsSettings,
        model.Settings,
        model.Host,
        model.BackupTarget,
        model.Agent,
        model.Elu,
        model.Identity,
        model.Commune,
        model.SyndicatFile,
    ],
)
def test_every_field_is_documented(cls: type[BaseModel]) -> None:
    for name in cls.model_fields:
        assert f"`{name}`" in DOC, f"{cls.__name__}.{name} is not in docs/inventory.md"


def test_every_provider_and_region_is_documented() -> None:
    rows = DOC.splitlines()
    for provider in catalogue.providers().values():
        [row] = [line for line in rows if line.startswith(f"| `{provider.name}` |")]
        assert f"| {provider.jurisdiction} |" in row
        for region in provider.regions:
            assert f"`{region}`" in row, (provider.name, region)


def test_every_service_is_documented(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every service bastide ships: its own roles' contracts, not the tests' (BASTIDE_ROLES_PATH)."""
    monkeypatch.delenv(contract.EXTRA_ROLES_ENV, raising=False)
    shipped = catalogue.services()
    assert "whoami" not in shipped
    for service in shipped.values():
        assert f"| `{service.name}` |" in DOC
        assert f"`{service.subdomain}.<domain>`" in DOC
