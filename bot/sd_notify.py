"""systemd's service notifications (``sd_notify``) with the standard library.

Under the unit in ``deploy/systemd`` (``Type=notify``, ``WatchdogSec=``) the service
says ``READY=1`` once it trades (after its first cycle), ``WATCHDOG=1`` from the job
that checks positions and writes the health file, and ``STOPPING=1`` when it stops.
A scheduler that no longer runs that job (stuck in a job, or an OMS that could not be
restarted) stops the pings, and systemd restarts the service. Without systemd
(``$NOTIFY_SOCKET`` unset) every call does nothing; a failed send is logged, never
raised: a notification must not stop trading.
"""

from __future__ import annotations

import logging
import os
import socket

log = logging.getLogger(__name__)

READY, WATCHDOG, STOPPING = "READY=1", "WATCHDOG=1", "STOPPING=1"


def notify(state: str) -> bool:
    """Send ``state`` to systemd; True when it was sent."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):  # an abstract socket
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            sock.sendall(state.encode())
    except OSError as error:
        log.warning("sd_notify %s to %s failed: %s", state, address, error)
        return False
    return True
