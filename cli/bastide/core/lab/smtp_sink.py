"""The lab's SMTP sink: a real SMTP server (aiosmtpd) that accepts every mail and stores it in a
Maildir, so tests read what the suite sent. Run by ``lab up`` as
``python -m bastide.core.lab.smtp_sink --host ADDR --port 25 --maildir DIR``.
"""

from __future__ import annotations

import argparse
import signal

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, default=25)
    parser.add_argument("--maildir", required=True)
    args = parser.parse_args()
    controller = Controller(Mailbox(args.maildir), hostname=args.host, port=args.port)
    controller.start()
    try:
        signal.sigwait({signal.SIGTERM, signal.SIGINT})
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
