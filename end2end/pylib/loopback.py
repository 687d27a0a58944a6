"""What the tests' Python servers share: serving a handler on a free loopback port, announcing the address on the
first line of standard output (`<READY> http://127.0.0.1:PORT`), and stopping on SIGTERM."""

import signal
import threading
from http.server import ThreadingHTTPServer


def serve(handler, ready):
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(f"{ready} http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()
