"""The base role's mail relay on a lab host: a mail sent on the host reaches the syndicat's relay.

In the lab the relay is the SMTP sink on the gateway. The role is converged with the roles'
harness (tests/fixtures/roles/harness.py) on the lab's last host, with the lab's proxy, CAs and
relay as the inventory would give them; the host's postfix then has to hand the mail over.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from bastide.core.lab import LabInfo

pytestmark = pytest.mark.lab

REPO = Path(__file__).resolve().parents[2]
HARNESS = REPO / "tests" / "fixtures" / "roles" / "harness.py"


def test_mail_sent_on_the_host_reaches_the_relay(
    lab_info: LabInfo, lab_hosts: list[Any], smtp_sink: Any, tmp_path: Path
) -> None:
    assert lab_info.smtp is not None, "the lab has no SMTP sink"
    _name, address = lab_info.hosts[-1]
    group_vars = {
        "bastide_admins": [{"name": "dsi-lab", "ssh_keys": [lab_info.ssh_public_key]}],
        "bastide_time_servers": [lab_info.gateway_name],
        "bastide_smtp_relay": {"host": lab_info.gateway_name, "port": lab_info.smtp.port},
        "bastide_http_proxy": lab_info.proxy_url,
        "bastide_extra_cas": [{"name": Path(p).stem, "pem": Path(p).read_text()} for p in lab_info.extra_cas],
    }
    vars_file = tmp_path / "lab-vars.yml"
    vars_file.write_text(yaml.safe_dump(group_vars))
    converge = subprocess.run(
        [sys.executable, str(HARNESS), "--address", address, "--key", lab_info.ssh_key, "--user", "root",
         "--state", str(tmp_path / "state"), "--roles", "base", "--group-vars", str(vars_file)],
        cwd=REPO, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=900, check=False,
    )  # fmt: skip
    assert converge.returncode == 0, converge.stdout[-4000:] + converge.stderr[-2000:]

    host = lab_hosts[-1]
    subject = f"bastide mail test {uuid.uuid4()}"
    sent = host.run(
        f"printf 'Subject: {subject}\\n\\nsent by the base role test\\n' | /usr/sbin/sendmail -t root"
    )
    assert sent.rc == 0, sent.stderr
    message = smtp_sink.wait_for(lambda m: m.get("Subject") == subject, timeout=60)
    # Relayed by the host's postfix, to the syndicat's contact address (root's alias, role base).
    harness_vars = yaml.safe_load((HARNESS.parent / "group_vars.yml").read_text())
    assert message["X-RcptTo"] == harness_vars["bastide_syndicat"]["contact_email"]
    assert address in message["X-Peer"]
