"""Address and name planning of the lab (pure)."""

from __future__ import annotations

import pytest

from bastide.core.lab.plan import lab_id_from_env, plan
from bastide.errors import InputError


def test_lab_addresses_and_names_follow_the_lab_id() -> None:
    lab = plan(3, 3)
    assert lab.subnet == "10.77.3.0/24"
    assert lab.gateway == "10.77.3.1"
    assert [h.address for h in lab.hosts] == ["10.77.3.11", "10.77.3.12", "10.77.3.13"]
    assert [h.name for h in lab.hosts] == ["lab3-h1", "lab3-h2", "lab3-h3"]
    assert lab.bridge == "bl3br"
    assert lab.gateway_name == "gateway.lab3.bastide.test"
    assert all(h.netns.startswith("bl3") and h.veth.startswith("bl3") for h in lab.hosts)


def test_two_labs_share_no_name_or_address() -> None:
    a, b = plan(0, 5), plan(1, 5)
    names_a = {a.bridge, *(h.netns for h in a.hosts), *(h.address for h in a.hosts), a.gateway}
    names_b = {b.bridge, *(h.netns for h in b.hosts), *(h.address for h in b.hosts), b.gateway}
    assert not names_a & names_b


def test_interface_names_fit_the_kernel_limit() -> None:
    lab = plan(9, 50)
    assert all(len(name) <= 15 for name in [lab.bridge, *(h.veth for h in lab.hosts)])


@pytest.mark.parametrize("hosts", [0, 51, -1])
def test_bad_host_count_is_refused(hosts: int) -> None:
    with pytest.raises(InputError) as error:
        plan(0, hosts)
    assert error.value.problems[0].field == "--hosts"


@pytest.mark.parametrize(("raw", "expected"), [("", 0), ("0", 0), ("7", 7)])
def test_lab_id_from_the_environment(monkeypatch: pytest.MonkeyPatch, raw: str, expected: int) -> None:
    monkeypatch.setenv("BASTIDE_LAB_ID", raw)
    assert lab_id_from_env() == expected


@pytest.mark.parametrize("raw", ["10", "-1", "x", "1.5"])
def test_bad_lab_id_names_the_variable_and_the_fix(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("BASTIDE_LAB_ID", raw)
    with pytest.raises(InputError) as error:
        lab_id_from_env()
    problem = error.value.problems[0]
    assert problem.field == "BASTIDE_LAB_ID"
    assert "0 to 9" in problem.fix
