"""What the tests' Python servers share: serving a handler on a free loopback port, announcing the address on the
first line of standard output (`<READY> http://127.0.0.1:PORT`), and stopping on SIGTERM; and a handler that answers
every request with JSON from one checking function."""

import json
import signal
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def checking_handler(check, refused_status):
    """A handler class that reads each request whole and answers what `check(method, target, headers, body)` says:
    200 with what was checked, or `refused_status` with the reason (`headers` has lower-case names)."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def handle_any(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {name.lower(): value for name, value in self.headers.items()}
            problem, checked = check(self.command, self.path, headers, body)
            answer = checked if problem is None else {"message": problem, **(checked or {})}
            data = json.dumps(answer).encode("utf-8")
            self.send_response(200 if problem is None else refused_status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = handle_any

    return Handler


def serve(handler, ready):
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(f"{ready} http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()
