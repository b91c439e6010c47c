"""The console in a real browser: headless Chromium (Debian's) driven by Playwright, against
`hookhub-local dev` on the test emulator and a local receiver, asserting what a person sees.
Each journey's last screen is saved under target/console-screenshots/.

Run by infra/console-test.sh (from infra/test.sh) with HOOKHUB_TEST_ENDPOINT set."""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
TARGET = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target")
SHOTS = TARGET / "console-screenshots"
RUNNER = TARGET / "debug" / "hookhub-local"
expect.set_options(timeout=15_000)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Receiver:
    """A webhook receiver that records each delivery and answers 200, or 500 while failing."""

    def __init__(self):
        self.received = []
        self.failing = False
        self.subscribed = set()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def answer(self, status, body):
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.end_headers()
                self.wfile.write(json.dumps(body).encode())

            def subscribed_apps(self):
                # The Graph API's /{account}/subscribed_apps, as Meta answers it.
                account = self.path.split("/")[2]
                if self.command == "POST":
                    receiver.subscribed.add(account)
                elif self.command == "DELETE":
                    receiver.subscribed.discard(account)
                else:
                    apps = [{"whatsapp_business_api_data": {"id": "987654321012345", "name": "hookhub"}}]
                    return self.answer(200, {"data": apps if account in receiver.subscribed else []})
                self.answer(200, {"success": True})

            def do_DELETE(self):
                self.subscribed_apps()

            def do_POST(self):
                if "/subscribed_apps" in self.path:
                    return self.subscribed_apps()
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                receiver.received.append({"headers": dict(self.headers), "body": json.loads(body or b"null")})
                status = 500 if receiver.failing else 200
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.end_headers()
                self.wfile.write(json.dumps({"ok": status == 200}).encode())

            def do_GET(self):
                # The Graph API's read of an account, for "test connection": the runner's
                # HOOKHUB_GRAPH_BASE_URL points here.
                if "/subscribed_apps" in self.path:
                    return self.subscribed_apps()
                if "/debug_token" in self.path:
                    return self.answer(200, {"data": {"is_valid": True, "expires_at": 0, "scopes": []}})
                token = self.headers.get("authorization", "")
                known = token in ("Bearer EAATestAccessToken123456789", "Bearer IGQVJTestAccessToken1234567")
                status = 200 if known else 401
                body = ({"id": self.path.split("/")[2].split("?")[0], "verified_name": "Acme Bistro",
                         "username": "acme.bistro"} if known else
                        {"error": {"message": "Invalid OAuth access token", "type": "OAuthException", "code": 190}})
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.end_headers()
                self.wfile.write(json.dumps(body).encode())

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def start_runner(receiver):
    """`hookhub-local dev` on a free port; its URL and the first admin's email and password."""
    port = free_port()
    env = dict(os.environ, AWS_ENDPOINT_URL=os.environ["HOOKHUB_TEST_ENDPOINT"], HOOKHUB_PORT=str(port),
               HOOKHUB_ALLOW_PRIVATE_TARGETS="true", RUST_LOG="warn",
               HOOKHUB_GRAPH_BASE_URL=receiver.url.replace("/hooks", ""))
    log = open(ROOT / ".run" / "console-runner.log", "w")
    runner = subprocess.Popen([str(RUNNER), "dev"], env=env, stdout=subprocess.PIPE, stderr=log, text=True)
    email = password = None
    deadline = time.time() + 120
    for line in runner.stdout:
        if m := re.match(r"\s*email:\s*(\S+)", line):
            email = m.group(1)
        if m := re.match(r"\s*password:\s*(\S+)", line):
            password = m.group(1)
        if line.startswith("try:") or time.time() > deadline:
            break
    if not (email and password):
        runner.kill()
        sys.exit("the runner did not print the first admin; see .run/console-runner.log")
    threading.Thread(target=lambda: [None for _ in runner.stdout], daemon=True).start()
    return runner, f"http://127.0.0.1:{port}", email, password


def shot(page, name):
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def main():
    SHOTS.mkdir(parents=True, exist_ok=True)
    (ROOT / ".run").mkdir(exist_ok=True)
    receiver = Receiver()
    runner, base, email, password = start_runner(receiver)
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        sys.exit("chromium is not installed (make test installs Debian's chromium)")
    problems = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
            page = context.new_page()
            # Script errors and CSP refusals; failed requests are the API's answers, which the
            # journeys check on screen (a wrong password is a 401 by design).
            page.on("console", lambda m: m.type == "error" and not m.text.startswith("Failed to load resource")
                    and problems.append(f"console: {m.text}"))
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            try:
                journeys(page, base, email, password, receiver)
            except Exception:
                shot(page, "failure")
                print(f"the journey failed on this screen: {SHOTS / 'failure.png'}", file=sys.stderr)
                print("\n".join(problems), file=sys.stderr)
                raise
            browser.close()
    finally:
        runner.terminate()
    if problems:
        sys.exit("the console logged errors:\n" + "\n".join(problems))
    print(f"console journeys passed; screenshots in {SHOTS}")


def journeys(page, base, email, password, receiver):
    """Each journey continues from where the one before left the console."""
    # Sign in.
    page.goto(f"{base}/console/")
    expect(page.get_by_role("heading", name="Sign in to hookhub")).to_be_visible()
    # A wrong password for an unknown email (the admin's own failures would count towards
    # locking it): the same answer as for a known one.
    page.get_by_label("Email").fill(f"nobody-{int(time.time())}@hookhub.example")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Incorrect email or password")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Tenants")).to_be_visible()
    assert page.evaluate("Object.keys(localStorage).length + Object.keys(sessionStorage).length") == 0, \
        "nothing may be stored in the browser"
    assert "token" not in page.url.lower()
    shot(page, "sign-in")

    # Create a tenant.
    tenant_name = f"Acme {int(time.time())}"
    form = page.get_by_role("form", name="New tenant")
    form.get_by_label("Name").fill(tenant_name)
    form.get_by_label("Contact email").fill("ops@acme.example")
    form.get_by_role("button", name="Create tenant").click()
    expect(page.get_by_role("heading", name=tenant_name)).to_be_visible()
    expect(page.get_by_role("tab", name="WhatsApp")).to_be_visible()
    shot(page, "create-tenant")

    # WhatsApp: the secret is masked after saving, and kept when saved blank.
    settings = page.get_by_role("form", name="whatsapp settings")
    settings.get_by_label("Phone number ID").fill("106540352242922")
    settings.get_by_label("Business account ID").fill("102290129340398")
    settings.get_by_label("Phone number", exact=True).fill("+15550783881")
    settings.get_by_label("Access token").fill("EAATestAccessToken123456789")
    settings.get_by_label("App secret").fill("app-secret-0123456789abcdef")
    settings.get_by_label("Webhook verify token").fill("my_verify_token_123")
    settings.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved. Secrets are stored encrypted")).to_be_visible()
    expect(settings.get_by_text(re.compile(r"Stored: EAATes\S*\*\*\*"))).to_be_visible()
    expect(settings.get_by_label("Access token")).to_have_value("")
    assert "EAATestAccessToken123456789" not in page.content(), "the secret must not be shown"
    settings.get_by_label("Phone number ID").fill("106540352242923")
    settings.get_by_role("button", name="Save").click()
    expect(settings.get_by_label("Phone number ID")).to_have_value("106540352242923")
    expect(settings.get_by_text(re.compile(r"Stored: EAATes\S*\*\*\*"))).to_be_visible()
    expect(settings.get_by_text(re.compile(r"Stored: app-se\S*\*\*\*"))).to_be_visible()
    shot(page, "whatsapp-masked")
    # Test connection reads the number from the Graph API with the saved token.
    settings.get_by_role("button", name="Test connection").click()
    expect(settings.get_by_role("status")).to_contain_text("Acme Bistro")
    expect(settings.get_by_role("status")).to_contain_text("Connected: Acme Bistro")

    # Instagram: saved, then its token checked; a token Graph refuses is named.
    page.get_by_role("tab", name="Instagram").click()
    settings = page.get_by_role("form", name="instagram settings")
    expect(settings.get_by_label("Instagram account ID")).to_be_editable()
    settings.get_by_label("App ID").fill("1234567890")
    settings.get_by_label("Access token").fill("IGQVJTestAccessToken1234567")
    settings.get_by_label("App secret").fill("ig-app-secret-0123456789")
    settings.get_by_label("Instagram account ID").fill("17841400008460056")
    expect(settings.get_by_label("Instagram account ID")).to_have_value("17841400008460056")
    settings.get_by_role("button", name="Save").click()
    expect(settings.get_by_text(re.compile(r"Stored: IGQVJT\S*\*\*\*"))).to_be_visible()
    settings.get_by_role("button", name="Test connection").click()
    expect(settings.get_by_role("status")).to_contain_text("Connected: Acme Bistro @acme.bistro")
    settings.get_by_label("Access token").fill("IGQVJRevokedToken0000000")
    settings.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved. Secrets are stored encrypted").first).to_be_visible()
    settings.get_by_role("button", name="Test connection").click()
    expect(settings.get_by_role("status")).to_contain_text("Not connected (token invalid)")
    expect(settings.get_by_role("status")).to_contain_text("generate a new one")
    shot(page, "instagram-test-connection")

    # An n8n workflow webhook: created, called, and its call in the analytics.
    page.get_by_role("tab", name="n8n workflows").click()
    form = page.get_by_role("form", name="New workflow webhook")
    form.get_by_label("Workflow name").fill("order_sync")
    form.get_by_label("n8n webhook URL").fill(receiver.url.replace("/hooks", "/n8n"))
    form.get_by_role("button", name="Save").click()
    expect(page.get_by_role("table", name="Workflow webhooks").get_by_role("cell", name="order_sync")).to_be_visible()
    page.get_by_role("button", name="Call", exact=True).click()
    page.get_by_role("button", name="Call workflow").click()
    expect(page.get_by_role("status", name="Workflow answer")).to_contain_text("HTTP 200")
    page.get_by_label("Wait for the workflow's answer (up to 20 s)").uncheck()
    page.get_by_role("button", name="Call workflow").click()
    expect(page.get_by_role("status").filter(has_text="Queued as event")).to_be_visible()
    recent = page.get_by_role("table", name="Recent calls")
    for _ in range(30):
        page.get_by_role("button", name="Refresh").click()
        if recent.count() and recent.get_by_text("HTTP 200").count():
            break
        time.sleep(0.5)
    expect(recent.get_by_text("HTTP 200").first).to_be_visible()
    expect(page.get_by_role("table", name="Per webhook").get_by_role("cell", name="100%")).to_be_visible()
    shot(page, "n8n-analytics")
    recent.get_by_role("button", name="Details").first.click()
    call = page.get_by_role("region", name="Attempt detail")
    expect(call.get_by_role("table", name="Request headers")).to_contain_text("webhook-signature")
    expect(call.get_by_label("Request body")).to_contain_text("workflow.call")

    # Failure alerts are on for a new tenant; turned off, the setting is kept.
    page.get_by_role("tab", name="Settings").click()
    alerts = page.get_by_label("Email the contact when an endpoint or workflow is disabled")
    expect(alerts).to_be_checked()
    alerts.uncheck()
    page.get_by_role("form", name="Tenant settings").get_by_role("button", name="Save").click()
    expect(page.get_by_text("Tenant saved")).to_be_visible()
    page.get_by_role("tab", name="Audit log").click()
    expect(page.get_by_role("cell", name="failureAlerts")).to_be_visible()
    page.get_by_role("tab", name="Settings").click()
    expect(page.get_by_label("Email the contact when an endpoint or workflow is disabled")).not_to_be_checked()

    # An endpoint: its secret shown once and copied, a test event delivered and logged.
    page.get_by_role("button", name="Act for this tenant").click()
    expect(page.get_by_role("heading", name="Webhook endpoints")).to_be_visible()
    form = page.get_by_role("form", name="New endpoint")
    form.get_by_label("Name").fill("Orders")
    form.get_by_label("URL").fill(receiver.url)
    form.get_by_label("All contact events (contact.*)").check()
    form.get_by_role("button", name="Create endpoint").click()
    secret = page.get_by_test_id("revealed-secret")
    expect(secret).to_contain_text("whsec_")
    page.get_by_role("region", name=re.compile("Signing secret")).get_by_role("button", name="Copy").click()
    assert page.evaluate("navigator.clipboard.readText()") == secret.inner_text()
    page.get_by_role("button", name="Done").click()
    expect(page.get_by_test_id("revealed-secret")).to_have_count(0)
    page.get_by_role("button", name="Test", exact=True).click()
    page.get_by_label("Event type").select_option("contact.created")
    page.get_by_role("button", name="Send test event").click()
    expect(page.get_by_role("status").filter(has_text="Delivered")).to_contain_text("HTTP 200")
    assert any(r["body"].get("event") == "contact.created" for r in receiver.received), receiver.received
    page.get_by_role("link", name="Delivery logs").click()
    expect(page.get_by_role("cell", name=re.compile("contact.created"))).to_be_visible()
    # The attempt as the receiver got it: the signed headers and the exact body.
    page.get_by_role("button", name="Details").first.click()
    attempt = page.get_by_role("region", name="Attempt detail")
    delivered = next(r for r in receiver.received if r["body"].get("event") == "contact.created")
    expect(attempt.get_by_role("table", name="Request headers")).to_contain_text(delivered["headers"]["webhook-signature"])
    expect(attempt.get_by_label("Request body")).to_contain_text(delivered["body"]["id"])
    expect(attempt.get_by_text("HTTP 200")).to_be_visible()
    shot(page, "attempt-detail")
    shot(page, "endpoint-test-event")

    # The same event read back, with its delivery and the attempt behind it.
    page.get_by_role("link", name="Events", exact=True).click()
    events = page.get_by_role("table", name="Events")
    newest = events.get_by_role("row").nth(1)
    expect(newest).to_contain_text("contact.created")
    newest.get_by_role("button", name="Deliveries").click()
    event = page.get_by_role("region", name="Event detail")
    expect(event.get_by_role("table", name="Deliveries")).to_contain_text("success")
    event.get_by_role("button", name="Last attempt").click()
    expect(event.get_by_role("region", name="Attempt detail").get_by_role("table", name="Request headers")).to_contain_text(
        delivered["headers"]["webhook-signature"])
    shot(page, "event-deliveries")

    # The receiver fails: the test shows it, the log offers a retry, which delivers.
    receiver.failing = True
    page.get_by_role("link", name="Endpoints").click()
    page.get_by_role("button", name="Test", exact=True).click()
    page.get_by_role("button", name="Send test event").click()
    expect(page.get_by_role("status").filter(has_text="Failed")).to_contain_text("HTTP 500")
    receiver.failing = False
    delivered_before = len(receiver.received)
    page.get_by_role("link", name="Delivery logs").click()
    page.get_by_label("Status").select_option("failed")
    page.get_by_role("button", name="Retry").first.click()
    expect(page.get_by_text("Retry queued")).to_be_visible()
    deadline = time.time() + 30
    while len(receiver.received) == delivered_before and time.time() < deadline:
        time.sleep(0.2)
    assert len(receiver.received) > delivered_before, "the retry did not reach the receiver"
    shot(page, "retry-from-log")

    # The endpoint's last 24 hours, charted, and recovering its failures from its log.
    page.get_by_role("link", name="Endpoints").click()
    page.get_by_role("button", name="Stats").click()
    chart = page.locator("figure.chart").filter(has_text="Deliveries per hour")
    expect(chart.locator("canvas")).to_have_count(1)
    page.get_by_role("link", name="Logs", exact=True).click()
    page.get_by_role("button", name="Recover failed deliveries").click()
    expect(page.get_by_text("queued for delivery again")).to_be_visible()

    # An API key, shown once.
    page.get_by_role("link", name="API keys").click()
    form = page.get_by_role("form", name="New API key")
    form.get_by_label("Name").fill("CRM sync")
    form.get_by_label("Publish events (write:events)").check()
    form.get_by_role("button", name="Create key").click()
    key = page.get_by_test_id("revealed-secret")
    expect(key).to_contain_text("hk_")
    shown = key.inner_text()
    page.get_by_role("button", name="Done").click()
    expect(page.get_by_role("cell", name="CRM sync")).to_be_visible()
    assert shown not in page.content(), "the key is shown only once"
    shot(page, "api-key-once")

    # The Meta test suite, run through hookhub's own ingress with the WhatsApp app secret.
    page.get_by_role("link", name="Meta").click()
    page.get_by_role("tab", name="Test suites").click()
    form = page.get_by_role("form", name="New test suite")
    form.get_by_label("Account ID").fill("102290129340398")
    form.get_by_role("button", name="Create test suite").click()
    page.get_by_role("button", name="Run test suite").click()
    run = page.get_by_role("status", name="Test run")
    expect(run).to_contain_text("passed")
    expect(run.get_by_text("failed", exact=True)).to_have_count(0)
    shot(page, "meta-test-suite")
    page.get_by_role("tab", name="Health and monitoring").click()
    chart = page.locator("figure.chart")
    expect(chart).to_contain_text("Meta events per hour")
    expect(chart.locator("canvas")).to_have_count(1)
    expect(page.get_by_text(re.compile(r"Health: (healthy|degraded)"))).to_be_visible()
    # The Graph API: WhatsApp's token checked now, and the app subscribed to its account.
    graph = page.get_by_role("region", name="Graph API")
    graph.get_by_role("button", name="Check now").click()
    checks = graph.get_by_role("table", name="Graph checks")
    expect(checks.get_by_role("row").filter(has_text="whatsapp")).to_contain_text("Connected")
    expect(checks.get_by_role("row").filter(has_text="whatsapp")).to_contain_text("does not expire")
    subscriptions = graph.get_by_role("table", name="Webhook subscriptions")
    expect(subscriptions.get_by_role("row").filter(has_text="whatsapp")).to_contain_text("Not subscribed")
    graph.get_by_role("button", name="Subscribe whatsapp").click()
    expect(page.get_by_text("Subscribed to whatsapp webhooks")).to_be_visible()
    expect(subscriptions.get_by_role("row").filter(has_text="whatsapp")).to_contain_text("Subscribed")
    expect(graph.get_by_role("button", name="Unsubscribe whatsapp")).to_be_visible()
    shot(page, "meta-graph")

    # Contacts from those messages, exported as CSV with the screen's filters.
    page.get_by_role("link", name="Contacts").click()
    expect(page.get_by_role("heading", name="Contacts")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("button", name="Export CSV").click()
    path = download.value.path()
    assert download.value.suggested_filename == "contacts.csv"
    header = Path(path).read_text().splitlines()[0]
    assert "externalId" in header or "external_id" in header or "id" in header, header
    expect(page.get_by_text("Contacts exported as CSV")).to_be_visible()
    shot(page, "contacts-export")

    # Phone width: the same screen, still usable.
    page.set_viewport_size({"width": 390, "height": 844})
    page.get_by_role("link", name="API keys").click()
    expect(page.get_by_role("cell", name="CRM sync")).to_be_visible()
    shot(page, "phone-width")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to hookhub")).to_be_visible()


if __name__ == "__main__":
    main()
