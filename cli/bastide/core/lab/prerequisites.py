"""The controller's system packages the lab needs: found, installed with apt-get, or reported."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass

from bastide.errors import EnvironmentProblem
from bastide.i18n import Messages

_ = Messages("lab")

# program → Debian package that provides it
PROGRAMS: dict[str, str] = {
    "systemd-nspawn": "systemd-container",
    "debootstrap": "debootstrap",
    "ip": "iproute2",
    "mount": "mount",
    "chroot": "coreutils",
    "ssh": "openssh-client",
    "ssh-keygen": "openssh-client",
    "squid": "squid",
    "dnsmasq": "dnsmasq-base",
    "pebble": "pebble",
    "ceph-mon": "ceph-mon",
    "monmaptool": "ceph-base",
    "ceph": "ceph-common",
    "ceph-osd": "ceph-osd",
    "radosgw": "radosgw",
    "radosgw-admin": "radosgw",
}
PYTHON_MODULES = {"aiosmtpd": "aiosmtpd"}


@dataclass(frozen=True)
class Missing:
    packages: list[str]
    python_modules: list[str]

    def __bool__(self) -> bool:
        return bool(self.packages or self.python_modules)


def apt_command(packages: list[str]) -> list[str]:
    return ["apt-get", "install", "-y", "--no-install-recommends", *packages]


def missing() -> Missing:
    packages = sorted({pkg for program, pkg in PROGRAMS.items() if shutil.which(program) is None})
    modules = sorted(pip for mod, pip in PYTHON_MODULES.items() if importlib.util.find_spec(mod) is None)
    return Missing(packages, modules)


def ensure(*, install: bool, log: Callable[[str], object] = print) -> None:
    """Install what is missing when allowed and possible, otherwise say exactly what to run."""
    if os.geteuid() != 0:
        raise EnvironmentProblem(_("prereq.root"))
    found = missing()
    if found.packages and install:
        log(_("prereq.installing", packages=" ".join(found.packages)))
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        result = subprocess.run(
            apt_command(found.packages), env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL
        )
        if result.returncode != 0:
            tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-10:])
            raise EnvironmentProblem(
                _("prereq.install_failed", command=" ".join(apt_command(found.packages)), output=tail)
            )
        found = missing()
    problems = []
    if found.packages:
        problems.append(_("prereq.missing_packages", command=" ".join(apt_command(found.packages))))
    if found.python_modules:
        problems.append(_("prereq.missing_modules", command="pip install " + " ".join(found.python_modules)))
    if problems:
        raise EnvironmentProblem("\n".join(problems))
