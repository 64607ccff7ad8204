"""The first vertical slice over HTTP through the local gateway: customer -> usage -> invoice -> PDF."""
from __future__ import annotations

import base64
import json
import socket
import time
import uuid

import pytest

from tests.e2e.conftest import http
from tests.support import pdf_text

pytestmark = pytest.mark.e2e


def token(stack, user_id: str, admin: bool = False, **overrides) -> str:
    import jwt

    now = int(time.time())
    claims = {"iss": "twinmcp-local", "aud": "billing", "sub": user_id, "iat": now, "exp": now + 600,
              "scope": "billing:read billing:admin" if admin else "billing:read", **overrides}
    return jwt.encode(claims, "local-dev-secret", algorithm="HS256")


def customer_body(**overrides):
    body = {"name": "Acme SARL", "email": "compta@acme.example",
            "address": {"line1": "8 quai Saint-Antoine", "postalCode": "69002", "city": "Lyon", "country": "FR"},
            "plan": "BASIC", "interval": "MONTH", "currency": "EUR", "locale": "fr-FR"}
    body.update(overrides)
    return body


def problem_code(reply) -> str:
    assert reply.headers["content-type"].startswith("application/problem+json"), reply.body
    return reply.json()["code"]


def test_health_reports_each_dependency_up(stack):
    reply = http("GET", f"{stack['baseUrl']}/billing/health")
    assert reply.status == 200
    assert {name: dep["status"] for name, dep in reply.json()["dependencies"].items()} == {
        "database": "up", "cache": "up", "storage": "up"}


def test_demo_month_is_invoiced_for_the_five_seeded_customers(stack):
    reply = http("GET", f"{stack['baseUrl']}/billing/invoices?limit=100", token=stack["adminToken"])
    assert reply.status == 200
    seeded = [i for i in reply.json()["items"] if i["userId"].startswith("5b0f6a3e-1c1a-4d7e-9a51-")]
    assert len(seeded) == 5 and all(i["status"] == "SENT" for i in seeded)


@pytest.mark.parametrize("case", ["missing", "expired", "wrong_secret", "alg_none", "wrong_audience"])
def test_requests_without_a_valid_token_get_401_before_any_handler(stack, case):
    user = str(uuid.uuid4())
    if case == "missing":
        auth = None
    elif case == "expired":
        auth = token(stack, user, exp=int(time.time()) - 5)
    elif case == "wrong_secret":
        import jwt

        auth = jwt.encode({"iss": "twinmcp-local", "aud": "billing", "sub": user, "exp": int(time.time()) + 60},
                          "not-the-secret", algorithm="HS256")
    elif case == "alg_none":
        header = base64.urlsafe_b64encode(json.dumps({"alg": "none", "typ": "JWT"}).encode()).rstrip(b"=")
        payload = base64.urlsafe_b64encode(json.dumps({"iss": "twinmcp-local", "aud": "billing", "sub": user,
                                                       "scope": "billing:admin",
                                                       "exp": int(time.time()) + 60}).encode()).rstrip(b"=")
        auth = f"{header.decode()}.{payload.decode()}."
    else:
        auth = token(stack, user, aud="someone-else")
    reply = http("GET", f"{stack['baseUrl']}/billing/invoices", token=auth)
    assert reply.status == 401


def test_the_slice_customer_usage_invoice_pdf(stack):
    base, admin = stack["baseUrl"], stack["adminToken"]
    user = str(uuid.uuid4())
    customer = http("PUT", f"{base}/billing/customers/{user}", token=admin,
                    body=customer_body(startDate="2026-01-01"))
    assert customer.status == 200, customer.body
    assert customer.json()["subscription"]["plan"] == "BASIC"

    events = [{"eventId": f"{user}-{day}", "userId": user, "timestamp": f"2026-10-{day:02d}T10:00:00Z",
               "requests": 1000} for day in range(1, 26)]
    usage = http("POST", f"{base}/billing/usage", token=admin, body={"events": events})
    assert (usage.status, usage.json()) == (202, {"accepted": 25, "duplicates": 0})
    again = http("POST", f"{base}/billing/usage", token=admin, body={"events": events[:5]})
    assert again.json() == {"accepted": 0, "duplicates": 5}

    period = {"type": "monthly", "startDate": "2026-10-01", "endDate": "2026-10-31"}
    created = http("POST", f"{base}/billing/invoices", token=admin, body={"userId": user, "period": period})
    assert created.status == 201, created.body
    invoice = created.json()
    assert (invoice["subtotal"], invoice["tax"], invoice["total"], invoice["status"]) == (1650, 330, 1980, "SENT")
    assert invoice["number"].startswith("INV-2026-")

    duplicate = http("POST", f"{base}/billing/invoices", token=admin, body={"userId": user, "period": period})
    assert duplicate.status == 409
    assert (problem_code(duplicate), duplicate.json()["invoiceId"]) == ("invoice_exists", invoice["id"])

    mine = token(stack, user)
    listed = http("GET", f"{base}/billing/invoices", token=mine).json()
    assert [i["id"] for i in listed["items"]] == [invoice["id"]]

    # The S3 event reaches the S3-event function through the queue and records the document.
    deadline = time.monotonic() + 30
    while True:
        detail = http("GET", f"{base}/billing/invoices/{invoice['id']}", token=mine).json()
        if detail["document"]["recordedAt"] or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert detail["document"]["recordedAt"] and len(detail["document"]["sha256"]) == 64
    assert [line["amount"] for line in detail["items"]] == [900, 750]

    redirect = http("GET", f"{base}/billing/invoices/{invoice['id']}/pdf", token=mine)
    assert redirect.status == 302
    location = redirect.headers["location"]
    assert "X-Amz-Expires=900" in location and "X-Amz-Signature=" in location
    pdf = http("GET", location)
    assert pdf.status == 200 and pdf.body.startswith(b"%PDF")
    text = pdf_text(pdf.body)
    assert invoice["number"] in text and "19,80 €" in text and "Acme SARL" in text


def test_another_customers_invoice_is_404_and_writes_for_others_are_403(stack):
    base, admin = stack["baseUrl"], stack["adminToken"]
    someone_else = token(stack, str(uuid.uuid4()))
    seeded = http("GET", f"{base}/billing/invoices?limit=1", token=admin).json()["items"][0]
    assert http("GET", f"{base}/billing/invoices/{seeded['id']}", token=someone_else).status == 404
    assert http("GET", f"{base}/billing/invoices/{seeded['id']}/pdf", token=someone_else).status == 404
    period = {"type": "monthly", "startDate": "2026-10-01", "endDate": "2026-10-31"}
    write = http("POST", f"{base}/billing/invoices", token=someone_else, body={"userId": seeded["userId"], "period": period})
    assert (write.status, problem_code(write)) == (403, "forbidden")
    put = http("PUT", f"{base}/billing/customers/{seeded['userId']}", token=someone_else, body=customer_body())
    assert (put.status, problem_code(put)) == (403, "forbidden")


@pytest.mark.parametrize("method,path,body,status,code", [
    ("PUT", "/billing/customers/not-a-uuid", {}, 400, "invalid_user_id"),
    ("POST", "/billing/usage", b"{not json", 400, "invalid_json"),
    ("POST", "/billing/invoices", {"userId": "nope", "period": {"startDate": "2026-10-01", "endDate": "2026-10-31"}},
     400, "invalid_user_id"),
    ("POST", "/billing/invoices", {"period": {"type": "custom", "startDate": "2026-10-31", "endDate": "2026-10-01"}},
     400, "invalid_period"),
    ("POST", "/billing/invoices", {"period": {"type": "custom", "startDate": "2025-01-01", "endDate": "2026-06-30"}},
     400, "invalid_period"),
    ("GET", "/billing/invoices/12345", None, 400, "invalid_invoice_id"),
])
def test_bad_input_gets_a_stable_problem_code(stack, method, path, body, status, code):
    raw = body if isinstance(body, bytes) else None
    reply = http(method, f"{stack['baseUrl']}{path}", token=stack["adminToken"], raw=raw,
                 body=None if raw is not None else body)
    assert (reply.status, problem_code(reply)) == (status, code)


def test_unknown_plan_is_refused_and_nothing_is_written(stack, infra):
    user = str(uuid.uuid4())
    reply = http("PUT", f"{stack['baseUrl']}/billing/customers/{user}", token=stack["adminToken"],
                 body=customer_body(plan="GOLD"))
    assert (reply.status, problem_code(reply)) == (400, "invalid_plan")
    import pg8000.native

    from billing.ports.db import connect_kwargs

    con = pg8000.native.Connection(**connect_kwargs(stack["databaseUrl"]))
    try:
        assert con.run("SELECT count(*) FROM users WHERE id = CAST(:u AS uuid)", u=user) == [[0]]
    finally:
        con.close()


def test_the_lifecycle_over_http(stack):
    base, admin = stack["baseUrl"], stack["adminToken"]
    user = str(uuid.uuid4())
    assert http("PUT", f"{base}/billing/customers/{user}", token=admin,
                body=customer_body(startDate="2026-01-01", email="lifecycle@acme.example")).status == 200
    credit = http("POST", f"{base}/billing/customers/{user}/credits", token=admin,
                  body={"amount": 500, "currency": "EUR", "type": "PROMOTIONAL", "reason": "welcome"})
    assert credit.status == 201
    period = {"type": "monthly", "startDate": "2026-09-01", "endDate": "2026-09-30"}
    draft = http("POST", f"{base}/billing/invoices", token=admin,
                 body={"userId": user, "period": period, "finalize": False}).json()
    preview = http("GET", f"{base}/billing/invoices/{draft['id']}/pdf", token=admin)
    assert (preview.status, preview.headers["content-type"]) == (200, "application/pdf")
    assert "BROUILLON" in pdf_text(preview.body)

    issued = http("PATCH", f"{base}/billing/invoices/{draft['id']}", token=admin, body={"status": "SENT"}).json()
    assert (issued["status"], issued["total"], issued["creditsApplied"], issued["amountDue"]) == ("SENT", 1080, 500, 580)
    sent = http("POST", f"{base}/billing/invoices/{draft['id']}/send", token=token(stack, user))
    assert sent.status == 202 and sent.json()["emailedAt"]

    payment = {"amount": 300, "currency": "EUR", "provider": "stripe", "providerTransactionId": f"ch-{user}"}
    assert http("POST", f"{base}/billing/invoices/{draft['id']}/payments", token=admin, body=payment).status == 201
    assert http("POST", f"{base}/billing/invoices/{draft['id']}/payments", token=admin, body=payment).status == 200
    refused = http("PATCH", f"{base}/billing/invoices/{draft['id']}", token=admin, body={"status": "DRAFT"})
    assert (refused.status, problem_code(refused)) == (409, "invalid_transition")

    cancelled = http("PATCH", f"{base}/billing/invoices/{draft['id']}", token=admin,
                     body={"status": "CANCELLED"}).json()
    assert cancelled["status"] == "CANCELLED" and cancelled["creditNote"]["total"] == 280
    assert cancelled["creditNote"]["number"].startswith("AVO-")
    alerts = http("GET", f"{base}/billing/alerts", token=token(stack, user))
    assert alerts.status == 200


def test_a_full_run_leaves_no_personal_value_in_the_logs(stack):
    base, admin = stack["baseUrl"], stack["adminToken"]
    user = str(uuid.uuid4())
    personal = {"name": "Zoé Confidentielle", "email": "zoe.confidentielle@private.example",
                "address": {"line1": "42 rue du Secret", "postalCode": "13001", "city": "Marseille", "country": "FR"},
                "phone": "+33 4 91 00 00 00", "siren": "732829320", "vatNumber": "FR44732829320"}
    assert http("PUT", f"{base}/billing/customers/{user}", token=admin,
                body=customer_body(startDate="2026-01-01", **personal)).status == 200
    period = {"type": "monthly", "startDate": "2026-08-01", "endDate": "2026-08-31"}
    invoice = http("POST", f"{base}/billing/invoices", token=admin,
                   body={"userId": user, "period": period, "sendImmediately": True}).json()
    mine = token(stack, user)
    assert http("POST", f"{base}/billing/invoices/{invoice['id']}/send", token=mine).status == 202
    assert http("GET", f"{base}/billing/invoices/{invoice['id']}/pdf", token=mine).status == 302
    assert http("GET", f"{base}/billing/invoices/{invoice['id']}", token=mine).status == 200
    time.sleep(2)  # the S3 event and its e-mail
    logs = open(stack["logPath"], encoding="utf-8").read()
    assert '"level":"DEBUG"' in logs or '"level":"INFO"' in logs  # the functions did log
    for value in ("Zoé", "Confidentielle", "zoe.confidentielle", "42 rue du Secret", "+33 4 91", "FR44732829320",
                  mine):
        assert value not in logs, f"{value!r} reached the logs"


# Last in the module on purpose: it stops the session's stack.
def test_ctrl_c_stops_everything_and_frees_the_ports(stack):
    import signal

    process = stack["process"]
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 0
    for port in stack["ports"].values():
        if port:
            with socket.socket() as probe:
                assert probe.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still listening"
