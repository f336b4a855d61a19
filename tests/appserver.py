"""The app served in a process of its own, for tests that kill the app server for real.

``python -m tests.appserver PORT_FILE`` builds the app from the environment (as production
does), serves it with werkzeug's threaded server on a free port of 127.0.0.1 and writes the
port to PORT_FILE once it listens. It shares the tests' date (``TEST_NOW``) and their pause
(tests.rqworker): with ``TEST_PAUSE_AFTER_COMMIT=N`` a request whose path matches
``TEST_PAUSE_PATH`` stops for good after its Nth committed transaction, before it answers, so
that a test can kill the server right after the request recorded its work.
"""

import os
import sys

from flask import request
from werkzeug.serving import make_server

from tests.rqworker import (
    counts_request,
    install_pause_hook,
    share_the_tests_clock,
    start_counting,
    stop_counting,
)


def main(port_file):
    share_the_tests_clock()
    install_pause_hook(per_request=True)
    from crowdsource import create_app

    app = create_app()

    @app.before_request
    def _count_this_request():
        if counts_request(request.path):
            start_counting()
        else:
            stop_counting()

    server = make_server("127.0.0.1", 0, app, threaded=True)
    with open(f"{port_file}.tmp", "w") as out:
        out.write(str(server.server_port))
    os.replace(f"{port_file}.tmp", port_file)
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1])
