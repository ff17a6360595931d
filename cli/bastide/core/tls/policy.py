"""When certificates are renewed, and when a certificate that was not renewed is an alarm.

One policy for both modes: certbot renews ACME certificates 30 days before their end (its
default), and bastide renews the internal CA's certificates at the same point. A certificate
still not renewed 14 days before its end means renewal has been failing for over two weeks.
The thresholds reach the pki role through ``bastide_tls`` (``render.global_vars``), so the
host's own check and ``bastide tls status`` raise the alarm at the same moment.
"""

from __future__ import annotations

RENEW_BEFORE_DAYS = 30
ALARM_BEFORE_DAYS = 14
