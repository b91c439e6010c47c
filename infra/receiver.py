#!/usr/bin/env python3
"""A webhook receiver for trying hookhub locally: prints each delivery and checks its
signatures with the reference Standard Webhooks library and the sha256= header.

    .venv/bin/python infra/receiver.py --port 4000 --secret whsec_... [--status 500]

--status makes it answer with another code (500 to watch retries, 410 to see the endpoint
disabled); touch /tmp/hookhub-receiver-fail to answer 500 until the file is removed.
"""
import argparse
import hashlib
import hmac
import json
import os
from http.server import BaseHTTPRequestHandler, HTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, default=4000)
parser.add_argument("--secret", required=True)
parser.add_argument("--status", type=int, default=200)
args = parser.parse_args()
verifier = Webhook(args.secret)


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        try:
            verifier.verify(body, dict(self.headers))
            standard = "valid"
        except WebhookVerificationError as e:
            standard = f"INVALID ({e})"
        expected = "sha256=" + hmac.new(args.secret.encode(), body, hashlib.sha256).hexdigest()
        body_hmac = "valid" if hmac.compare_digest(expected, self.headers.get("x-webhook-signature", "")) else "INVALID"
        status = 500 if os.path.exists("/tmp/hookhub-receiver-fail") else args.status
        event = json.loads(body)
        print(f"{self.headers['webhook-id']} {event['event']} standard-webhooks={standard} sha256={body_hmac} -> {status}", flush=True)
        self.send_response(status)
        self.end_headers()
        self.wfile.write(b"ok" if status < 300 else b"failing on purpose")

    def log_message(self, *_):
        pass


HTTPServer(("127.0.0.1", args.port), Handler).serve_forever()
