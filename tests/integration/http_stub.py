#!/usr/bin/env python3
"""A tiny HTTP server for the integration tests (tests/integration/).

Answers every request with a fixed JSON object (--reply, default
{"risk":"low","queue":"vip"}) and appends one JSON line per request
(method, path, headers, body) to --log, so a test can check what voxgate
sent (flows' http nodes, webhooks). Binds 127.0.0.1 only, writes the port
it listens on to --port-file once ready, and exits by itself after
--lifetime seconds (default 120) so a failed test never leaves it behind.
--delay-ms holds each reply that long (a slow back-end).
"""
import argparse
import json
import os
import socketserver
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

MAX_BODY = 1 << 20


class Handler(BaseHTTPRequestHandler):
    server_version = "vg-http-stub/1"

    def log_message(self, fmt, *args):  # quiet: the JSON log is the record
        pass

    def _handle(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n < 0 or n > MAX_BODY:
            self.send_error(413)
            return
        body = self.rfile.read(n) if n else b""
        rec = {
            "method": self.command,
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body.decode("utf-8", "replace"),
        }
        with self.server.lock:
            with open(self.server.log_path, "a", encoding="utf-8") as f:
                f.write(json.dumps(rec) + "\n")
        if self.server.delay_ms and not self.path.startswith("/hook"):
            time.sleep(self.server.delay_ms / 1000.0)
        status = self.server.status
        reply = self.server.reply.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle


class Server(socketserver.ThreadingMixIn, HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--reply", default='{"risk":"low","queue":"vip"}')
    ap.add_argument("--status", type=int, default=200)
    ap.add_argument("--lifetime", type=float, default=120.0)
    ap.add_argument("--delay-ms", type=int, default=0)
    a = ap.parse_args()
    json.loads(a.reply)  # must be valid JSON
    srv = Server(("127.0.0.1", a.port), Handler)
    srv.log_path = a.log
    srv.reply = a.reply
    srv.status = a.status
    srv.delay_ms = a.delay_ms
    srv.lock = threading.Lock()
    open(a.log, "a").close()
    with open(a.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.replace(a.port_file + ".tmp", a.port_file)
    threading.Timer(a.lifetime, srv.shutdown).start()
    srv.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
