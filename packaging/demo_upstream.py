#!/usr/bin/env python3
"""A tiny demo upstream for trying sluice: answers every request with a short text body."""
import http.server
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        body = (f"hello from the demo upstream\nyou asked for {self.path}\n"
                f"x-forwarded-for: {self.headers.get('x-forwarded-for')}\n").encode()
        self.send_response(200)
        self.send_header("content-type", "text/plain; charset=utf-8")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_HEAD = do_GET
    do_POST = do_GET

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 9001
    http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
