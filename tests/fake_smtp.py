"""A fake SMTP server for tests (aiosmtpd on a free local port): it stores the messages it
accepted, counts distinct Message-IDs as a mailbox would, and can hold a sender at one of two
points of the SMTP conversation so that a test can kill the sender there.

- ``hold_next("before_accept")``: the next message's DATA has arrived but is not accepted yet
  (no 250 reply, nothing stored). A sender killed there leaves no message: a real server that
  loses the connection before it took responsibility for the message drops it.
- ``hold_next("after_accept")``: the next message is stored (the server took responsibility
  for delivering it) and the final ``250`` reply is held back. A sender killed there never
  learns that its message was accepted, so it sends it again — the window SMTP cannot close,
  since it has no idempotency key.

``refuse_next()`` answers the next message's DATA with ``451`` (a server that is busy: try
again later), storing nothing.

A hold or a refusal is one-shot: the sender's retry goes through. A killed sender closes the connection,
which cancels the held handler (aiosmtpd cancels it on connection loss), so a held message
that was not yet accepted is never stored.
"""

import asyncio
import email
import email.policy
import threading

from aiosmtpd.controller import Controller

from tests.servers import free_port

HOLD_POINTS = ("before_accept", "after_accept")


class FakeSMTP:
    """The server; ``start()`` it, read ``port``, ``messages`` and ``mailbox()``, ``stop()``."""

    def __init__(self):
        self.port = None
        self._messages = []  # email.message.EmailMessage, in the order accepted
        self._lock = threading.Condition()  # notified at each message accepted
        self._hold_point = None
        self._refuse = False
        self._held = threading.Event()  # a sender is being held
        self._release = threading.Event()
        self._controller = None

    # --- running --------------------------------------------------------------------------

    def start(self):
        self.port = free_port()
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self):
        self.release()
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def env(self):
        """The environment that points a worker process's mail at this server."""
        return {
            "MAIL_BACKEND": "smtp",
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": str(self.port),
        }

    # --- holding a sender -----------------------------------------------------------------

    def hold_next(self, point):
        """Hold the next message at ``point`` (one of HOLD_POINTS) until ``release()``."""
        assert point in HOLD_POINTS, point
        self._held.clear()
        self._release.clear()
        self._hold_point = point

    def refuse_next(self):
        """Answer the next message with a temporary failure (451)."""
        self._refuse = True

    def wait_until_held(self, timeout=60):
        """Block until a sender is held; fails the test after ``timeout`` seconds."""
        assert self._held.wait(timeout), f"no sender reached the hold within {timeout} s"

    def release(self):
        self._release.set()

    async def _hold(self, point):
        if self._hold_point != point:
            return
        self._hold_point = None
        self._held.set()
        # Polled so that a lost connection (a killed sender) can cancel the wait at once.
        while not self._release.is_set():
            await asyncio.sleep(0.05)

    # --- what arrived ---------------------------------------------------------------------

    def _store(self, raw):
        message = email.message_from_bytes(raw, policy=email.policy.default)
        with self._lock:
            self._messages.append(message)
            self._lock.notify_all()

    @property
    def messages(self):
        """Every message accepted, duplicates included."""
        with self._lock:
            return list(self._messages)

    def mailbox(self):
        """What a mailbox shows: one message per Message-ID (the first one accepted)."""
        distinct = {}
        for message in self.messages:
            distinct.setdefault(message["Message-ID"], message)
        return list(distinct.values())

    def wait_for_messages(self, count, timeout=60):
        """Wait until at least ``count`` messages were accepted; returns them all."""
        with self._lock:
            arrived = self._lock.wait_for(lambda: len(self._messages) >= count, timeout)
            assert arrived, (
                f"{len(self._messages)} message(s) accepted after {timeout} s, expected {count}"
            )
            return list(self._messages)


def subject_of(message):
    """The Subject as a mail client shows it: a long encoded subject is folded onto the next
    line, which leaves a leading space in what the email package reads."""
    return message["Subject"].strip()


class _Handler:
    def __init__(self, server):
        self.server = server

    async def handle_DATA(self, smtp, session, envelope):
        if self.server._refuse:
            self.server._refuse = False
            return "451 Requested action aborted: try again later"
        await self.server._hold("before_accept")
        self.server._store(envelope.original_content or envelope.content)
        await self.server._hold("after_accept")
        return "250 Message accepted for delivery"
