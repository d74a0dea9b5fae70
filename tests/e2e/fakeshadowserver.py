#!/usr/bin/env python3
"""fakeshadowserver.py - a test ShadowServer: the Reports API and the download server.

  fakeshadowserver.py --dir DIR --secret FILE [--cert PEM --key PEM]

Listens on 127.0.0.1 only: HTTPS (when --cert is given) and plain HTTP, on
ports of the system's choosing, written to DIR/ports as "https PORT" and
"http PORT" once both listen (the readiness a test waits for). Every request
is appended to DIR/requests.log as "METHOD PATH HOST" before it is answered,
so a test can prove what was never asked for.

The API (as ShadowServer's api2): POST /api2/<method> with a JSON body; the
HMAC2 header must be the hex HMAC-SHA256 of the exact body bytes keyed with
the secret, else 401 {"error": ...}. reports/list answers DIR/list.json
(filtered by "date" and "type"), reports/types DIR/types.json,
reports/subscribed the list names of list.json, test/ping {"pong": ...}.
The api keys "rate-limited", "html-answer" and "expired-key" (signed right)
are answered 429 JSON, 200 HTML and 401 JSON. DIR/list.json's entries are
{"id", "file", "type", "report", "timestamp", "url"}, as ShadowServer's.

Downloads: GET /<id> (also /dl/<id>). DIR/files/<id> is the body and
DIR/files/<id>.name, when present, the Content-Disposition file name. Ids
with a behaviour of their own:
  404, 410           that status, JSON error
  flaky-<id>         500 the first time, then <id>
  slow-<id>          waits 30 s before answering (the client's timeout ends it)
  big                an endless body (the client's MaxReportSize ends it)
  redirect-out       302 to the HTTP port on 127.0.0.1 (not a listed host)
  redirect-<id>      302 to /<id> on the same host and port
  gate-<id>          held until a second request for gate-<id> comes (10 s at most),
                     then DIR/files/gate-<id> as any file
"""
import argparse, hashlib, hmac, json, os, ssl, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARGS = None
LOCK = threading.Lock()
SEEN = set()
PORTS = {}
GATE = threading.Condition()
ASKED = {}


def log(handler, method):
    with LOCK, open(os.path.join(ARGS.dir, "requests.log"), "a") as f:
        f.write("%s %s %s\n" % (method, handler.path, handler.headers.get("Host", "")))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *a):
        pass

    def answer(self, status, body, ctype="application/json", extra=()):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    # --- the API -------------------------------------------------------------
    def do_POST(self):
        log(self, "POST")
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        secret = open(ARGS.secret, "rb").read().strip()
        want = hmac.new(secret, body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(want, self.headers.get("HMAC2", "")):
            return self.answer(401, {"error": "invalid HMAC2 signature"})
        try:
            req = json.loads(body)
        except ValueError:
            return self.answer(400, {"error": "body is not JSON"})
        # keys with a failure of their own (the HMAC2 is right, the answer is not)
        if req.get("apikey") == "rate-limited":
            return self.answer(429, {"error": "rate limit exceeded, try again later"})
        if req.get("apikey") == "html-answer":
            return self.answer(200, b"<html><body>maintenance</body></html>", "text/html")
        if req.get("apikey") == "expired-key":
            return self.answer(401, {"error": "API key expired"})
        if req.get("apikey") != ARGS.apikey:
            return self.answer(401, {"error": "unknown apikey"})
        method = self.path[len("/api2/"):] if self.path.startswith("/api2/") else ""
        if method == "test/ping":
            return self.answer(200, {"pong": time.strftime("%Y-%m-%d %H:%M:%S")})
        if method == "reports/types":
            return self.answer(200, self.read_json("types.json", []))
        if method == "reports/subscribed":
            return self.answer(200, sorted({r["report"] for r in self.read_json("list.json", [])}))
        if method == "reports/list":
            return self.answer(200, self.listed(req))
        return self.answer(404, {"error": "unknown method %s" % method})

    def read_json(self, name, default):
        path = os.path.join(ARGS.dir, name)
        return json.load(open(path)) if os.path.exists(path) else default

    def listed(self, req):
        date = req.get("date", "")
        lo, _, hi = date.partition(":")
        hi = hi or lo
        types = req.get("type")
        types = [types] if isinstance(types, str) else types
        out = []
        for r in self.read_json("list.json", []):
            if date and not (lo <= r["timestamp"][:10] <= hi):
                continue
            if types and r["type"] not in types:
                continue
            if req.get("reports") and r["report"] not in req["reports"]:
                continue
            out.append(r)
        return out[: int(req.get("limit", 1000))]

    # --- downloads -----------------------------------------------------------
    def do_GET(self):
        log(self, "GET")
        ident = self.path.split("?")[0].rsplit("/", 1)[-1]
        if ident in ("404", "410"):
            return self.answer(int(ident), {"error": "not found"})
        if ident.startswith("flaky-"):
            with LOCK:
                first = ident not in SEEN
                SEEN.add(ident)
            if first:
                return self.answer(500, {"error": "try again"})
            ident = ident[len("flaky-"):]
        if ident.startswith("gate-"):
            self.gate(ident)
        if ident.startswith("slow-"):
            time.sleep(30)
            ident = ident[len("slow-"):]
        if ident == "big":
            return self.endless()
        if ident == "redirect-out":
            return self.answer(302, b"", "text/plain",
                               [("Location", "http://127.0.0.1:%d/out-of-bounds" % PORTS["http"])])
        if ident.startswith("redirect-"):
            return self.answer(302, b"", "text/plain", [("Location", "/" + ident[len("redirect-"):])])
        path = os.path.join(ARGS.dir, "files", os.path.basename(ident))
        if not ident or not os.path.isfile(path):
            return self.answer(404, {"error": "no such report"})
        extra = []
        if os.path.exists(path + ".name"):
            name = open(path + ".name").read().strip()
            extra.append(("Content-Disposition", 'attachment; filename="%s"' % name))
        self.answer(200, open(path, "rb").read(), "application/octet-stream", extra)

    def gate(self, ident):
        """the second request for IDENT opens the gate for both (10 s at most): two clients
        that both listed a file download it before either can apply it"""
        with GATE:
            ASKED[ident] = ASKED.get(ident, 0) + 1
            GATE.notify_all()
            GATE.wait_for(lambda: ASKED[ident] >= 2, timeout=10)

    def endless(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/csv")
        self.end_headers()
        chunk = b"timestamp,ip\n" + b"2026-11-24 00:00:00,192.0.2.1\n" * 4000
        try:
            for _ in range(100000):		# 12 GB at most: bounded, the client stops far earlier
                self.wfile.write(chunk)
        except OSError:
            pass
        self.close_connection = True


def serve(kind, server):
    PORTS[kind] = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--secret", required=True)
    ap.add_argument("--apikey", default="test-api-key")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ARGS = ap.parse_args()
    if ARGS.cert:
        https = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(ARGS.cert, ARGS.key)
        https.socket = ctx.wrap_socket(https.socket, server_side=True)
        serve("https", https)
    serve("http", ThreadingHTTPServer(("127.0.0.1", 0), Handler))
    tmp = os.path.join(ARGS.dir, "ports.tmp")
    with open(tmp, "w") as f:
        for k, v in sorted(PORTS.items()):
            f.write("%s %d\n" % (k, v))
    os.rename(tmp, os.path.join(ARGS.dir, "ports"))
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


main()
