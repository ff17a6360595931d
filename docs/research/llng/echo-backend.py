#!/usr/bin/python3
"""Trivial backend: answers with the request headers it received, and refuses (403)
any request that lacks the shared secret header set by nginx."""
import http.server, os, sys
SECRET = open("/etc/bastide/backend-secret").read().strip()
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        ok = self.headers.get("X-Bastide-Secret") == SECRET
        body = ("secret-ok\n" if ok else "secret-MISSING\n") + "".join(
            "%s: %s\n" % (k, v) for k, v in self.headers.items() if k.lower() != "x-bastide-secret")
        self.send_response(200 if ok else 403)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.end_headers(); self.wfile.write(body.encode())
    do_PROPFIND = do_GET
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
