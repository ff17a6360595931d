"""Address and name planning for one lab: pure functions, no side effects.

Lab ``N`` (0..9) owns ``10.77.N.0/24``: the controller's end of the lab bridge is ``.1`` (the
gateway, where every lab service listens), hosts get ``.11``, ``.12``, ... Interface and
namespace names carry the lab id so that several labs coexist on one machine, and stay within
the kernel's 15-character limit for interface names.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from bastide.errors import InputError, Problem

MAX_HOSTS = 50
FIRST_HOST_OCTET = 11


@dataclass(frozen=True)
class HostPlan:
    index: int  # 1-based
    name: str  # hostname, also the machine name and the name in /etc/hosts
    address: str
    netns: str
    veth: str  # controller-side end, attached to the bridge


@dataclass(frozen=True)
class LabPlan:
    lab_id: int
    hosts: tuple[HostPlan, ...]

    @property
    def subnet(self) -> str:
        return f"10.77.{self.lab_id}.0/24"

    @property
    def gateway(self) -> str:
        return f"10.77.{self.lab_id}.1"

    @property
    def bridge(self) -> str:
        return f"bl{self.lab_id}br"

    @property
    def domain(self) -> str:
        """The lab's own DNS zone (``.test`` is reserved, RFC 2606: never a real name)."""
        return f"lab{self.lab_id}.bastide.test"

    @property
    def gateway_name(self) -> str:
        return f"gateway.{self.domain}"

    @property
    def prefix(self) -> str:
        """What every link and namespace of this lab starts with (used to find leftovers)."""
        return f"bl{self.lab_id}"


def host_name(lab_id: int, index: int) -> str:
    return f"lab{lab_id}-h{index}"


def plan(lab_id: int, hosts: int) -> LabPlan:
    check_lab_id(lab_id)
    if not 1 <= hosts <= MAX_HOSTS:
        raise InputError(
            Problem(
                file="(command line)",
                field="--hosts",
                message=f"{hosts} is not a valid number of hosts",
                fix=f"give a number between 1 and {MAX_HOSTS}",
            )
        )
    return LabPlan(
        lab_id=lab_id,
        hosts=tuple(
            HostPlan(
                index=i,
                name=host_name(lab_id, i),
                address=f"10.77.{lab_id}.{FIRST_HOST_OCTET + i - 1}",
                netns=f"bl{lab_id}h{i}",
                veth=f"bl{lab_id}h{i}",
            )
            for i in range(1, hosts + 1)
        ),
    )


def check_lab_id(lab_id: int) -> None:
    if not 0 <= lab_id <= 9:
        raise InputError(
            Problem(
                file="(environment)",
                field="BASTIDE_LAB_ID",
                message=f"{lab_id} is not a lab id",
                fix="set BASTIDE_LAB_ID to a number from 0 to 9",
            )
        )


def lab_id_from_env() -> int:
    raw = os.environ.get("BASTIDE_LAB_ID", "0").strip() or "0"
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if not raw.isdigit():
        raise InputError(
            Problem(
                file="(environment)",
                field="BASTIDE_LAB_ID",
                message=f"{raw!r} is not a lab id",
                fix="set BASTIDE_LAB_ID to a number from 0 to 9",
            )
        )
    check_lab_id(value)
    return value
