"""attach target: a threaded HTTP server on 127.0.0.1 (port written to DIR/port) in the main
thread, a heartbeat thread, stopped by DIR/stop. argv: DIR."""
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import attach_common as c


class AttachMarker:
    pass


held = [AttachMarker() for _ in range(5)]
served = [0]


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        served[0] += 1
        body = b"x" * 1000
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


d = sys.argv[1]
server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
with open(d + "/port", "w") as f:
    f.write(str(server.server_address[1]))


def watch():
    while not c.should_stop(d):
        c.beat(d)
        time.sleep(0.05)
    server.shutdown()


threading.Thread(target=watch, daemon=True).start()
c.ready(d)
server.serve_forever(poll_interval=0.5)
server.server_close()
c.finish(d, 3, served=served[0])
