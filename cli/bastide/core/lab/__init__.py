"""The lab: real Debian 12 hosts and the services they need, on this machine.

``bastide lab up`` (or this API) boots N Debian 12 hosts with systemd-nspawn, each in its own
network namespace on the bridge of lab ``BASTIDE_LAB_ID`` (0..9): subnet ``10.77.<id>.0/24``,
gateway ``10.77.<id>.1`` on the controller, hosts ``10.77.<id>.11`` and up, named
``lab<id>-h<n>`` in /etc/hosts. On the gateway: a caching forward proxy (Squid) for apt and pip,
Ceph RGW in memory (S3 with versioning and Object Lock), pebble (ACME test CA) with the lab DNS
it validates through (dnsmasq), and an SMTP sink that stores mail in a Maildir.

Python API::

    from bastide.core.lab import Lab, LabInfo

    lab = Lab()                      # lab id from BASTIDE_LAB_ID, state from BASTIDE_STATE_DIR
    info: LabInfo = lab.up(3)        # reuses the lab if it already runs with 3 hosts
    info.hosts                       # [("lab0-h1", "10.77.0.11"), ...]
    info.ssh_key, info.known_hosts   # root@<host> with these (see Lab.ssh_argv)
    info.proxy_url                   # http://10.77.0.1:3129
    info.s3.endpoint, info.s3.access_key, info.s3.secret_key   # secret read from a 0600 file
    info.acme.directory, info.acme.server_ca_pem, info.acme.issuer_root_pem
    info.smtp.host, info.smtp.port, info.smtp.maildir
    lab.status(); lab.leftovers(); lab.down()                 # down is idempotent

``bastide.core.lab.inventory_writer.write_lab_inventory`` turns an inventory (the demo) into one
whose hosts are the lab's. State lives in ``<state>/lab/<id>/`` (lab.json, ssh/, logs/, ...);
the Debian base and the proxy cache in ``/var/cache/bastide`` (``BASTIDE_LAB_BASE_DIR``).
"""

from __future__ import annotations

from bastide.core.lab.info import AcmeInfo, LabInfo, S3Info, SmtpInfo
from bastide.core.lab.lifecycle import HostStatus, Lab, LabError, LabStatus
from bastide.core.lab.plan import lab_id_from_env

__all__ = [
    "AcmeInfo",
    "HostStatus",
    "Lab",
    "LabError",
    "LabInfo",
    "LabStatus",
    "S3Info",
    "SmtpInfo",
    "lab_id_from_env",
]
