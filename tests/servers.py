"""Local servers the tests talk to instead of a healthy one: a free port, and a TCP server
that accepts connections and never answers (a hung Redis)."""

import socket
import threading


def free_port():
    """A port on 127.0.0.1 that nothing listens on (connections to it are refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SilentServer:
    """Accepts every connection and never answers: each command sent to it hangs. ``url`` is a
    Redis URL of it; ``accepted`` the connections it took."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.accepted = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def connections(self):
        return len(self.accepted)

    def _accept(self):
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.accepted.append(connection)  # held open, never read

    def close(self):
        self.listener.close()
        for connection in self.accepted:
            connection.close()
