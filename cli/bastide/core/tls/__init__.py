"""The front door's certificates over their life: what each site serves (``served``), renewal
runs (``renewal``) and the administration host's timer that makes internal-CA renewal
automatic (``timer``). The internal CA itself is :mod:`bastide.core.pki`; see docs/tls.md."""
