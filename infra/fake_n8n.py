#!/usr/bin/env python3
"""A stand-in for an n8n instance, for trying workflow calls locally: n8n's /healthz, and
webhook paths that answer as workflows do. Prints each call with whether it carried the
API key.

    .venv/bin/python infra/fake_n8n.py --port 5678

POST /webhook/order-lookup answers {"orderId": <data.orderId>, "status": "shipped"};
POST /webhook/slow answers after 30 s (past the 20 s a waiting call allows);
any other /webhook/ path answers 500, as a workflow that fails to start.
"""
import argparse
import json
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, default=5678)
args = parser.parse_args()


class Handler(BaseHTTPRequestHandler):
    def answer(self, status, payload):
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/healthz":
            self.answer(200, {"status": "ok"})
        else:
            self.answer(404, {"message": "not found"})

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        try:
            call = json.loads(body)
        except ValueError:
            call = {}
        key = "with API key" if self.headers.get("x-n8n-api-key") else "without API key"
        print(f"{self.path} {call.get('event')} {key}", flush=True)
        if self.path == "/webhook/order-lookup":
            order = (call.get("data") or {}).get("orderId")
            self.answer(200, {"orderId": order, "status": "shipped"})
        elif self.path == "/webhook/slow":
            time.sleep(30)
            self.answer(200, {"late": True})
        else:
            self.answer(500, {"code": 0, "message": "Workflow could not be started!"})

    def log_message(self, *_):
        pass


ThreadingHTTPServer(("127.0.0.1", args.port), Handler).serve_forever()
