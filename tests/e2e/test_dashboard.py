"""The invoice dashboard in Debian's Chromium (Playwright for Python) against its own local stack.

Sign in from the printed link, see the seeded invoices, filter by status, period and customer, page 20 at a
time, open a detail, download PDFs, keep customers apart, cancel with a credit note, and stay usable on a phone.
`UPDATE_SCREENSHOTS=1` also writes the README's screenshots to tests/e2e/screenshots/.
"""
from __future__ import annotations

import os
import re
import uuid
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from tests.e2e.conftest import http, local_stack
from tests.support import ROOT

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
ACME_ID = "5b0f6a3e-1c1a-4d7e-9a51-000000000001"  # the demo seed's first customer
PAGED_MONTHS = [(2024 + (6 + i) // 12, (6 + i) % 12 + 1) for i in range(26)]  # 2024-07 .. 2026-08


@pytest.fixture(scope="module")
def dashboard_stack(infra, tmp_path_factory):
    """A stack of this module's own: test_slice_over_http stops the session's stack in its last test."""
    with local_stack(infra, tmp_path_factory.mktemp("dashboard-stack"), "billing_e2e_dashboard") as info:
        yield info


def make_token(user_id: str, *, admin: bool = False) -> str:
    from billing.config import Settings
    from billing.devstack.tokens import make_token as sign

    return sign(Settings.from_env(), user_id, admin=admin, ttl=1800)


@pytest.fixture(scope="module")
def data(dashboard_stack):
    """Besides the five seeded invoices: one customer with 26 monthly invoices, two of them paid."""
    base, admin = dashboard_stack["baseUrl"], dashboard_stack["adminToken"]
    user = str(uuid.uuid4())
    customer = {"name": "Pagination Partners SAS", "email": "factures@pagination.example",
                "address": {"line1": "5 rue des Pages", "postalCode": "31000", "city": "Toulouse", "country": "FR"},
                "plan": "BASIC", "interval": "MONTH", "currency": "EUR", "locale": "fr-FR",
                "startDate": "2024-07-01"}
    reply = http("PUT", f"{base}/billing/customers/{user}", token=admin, body=customer)
    assert reply.status == 200, reply.body
    invoices = {}
    for year, month in PAGED_MONTHS:
        end = (date(year + month // 12, month % 12 + 1, 1) - date.resolution).isoformat()
        period = {"type": "monthly", "startDate": f"{year}-{month:02d}-01", "endDate": end}
        created = http("POST", f"{base}/billing/invoices", token=admin, body={"userId": user, "period": period})
        assert created.status == 201, created.body
        invoices[(year, month)] = created.json()
    paid = [invoices[(2025, 1)]["id"], invoices[(2025, 2)]["id"]]
    for invoice_id in paid:
        reply = http("PATCH", f"{base}/billing/invoices/{invoice_id}", token=admin, body={"status": "PAID"})
        assert reply.status == 200, reply.body
    seeded = http("GET", f"{base}/billing/invoices?userId={ACME_ID}", token=admin).json()["items"]
    return {"user": user, "invoices": invoices, "paid": paid, "acme_invoice": seeded[0]}


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: Debian's chromium and chromium-driver could not be installed "
                    "(make system-deps installs them when run as root)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser: Browser):
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900}, accept_downloads=True)
    yield context
    context.close()


def sign_in(context: BrowserContext, stack: dict, token: str, path: str = "/dashboard/sign-in") -> Page:
    page = context.new_page()
    page.goto(f"{stack['baseUrl']}{path}#token={token}")
    page.wait_for_url(re.compile(r"/dashboard(\?.*)?$"))
    return page


def rows(page: Page):
    return page.locator("table.invoices tbody tr")


def numbers(page: Page) -> list[str]:
    return rows(page).locator("th").all_inner_texts()


def screenshot(page: Page, name: str, tmp_path: Path) -> Path:
    """Into the test's tmp dir always; into the README's folder only when asked (they change with every run)."""
    target = (SCREENSHOTS if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path) / name
    target.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target), full_page=True)
    return target


# ---- signing in ------------------------------------------------------------------------------------------------

def test_the_printed_link_signs_in_with_an_http_only_strict_cookie_and_no_token_left_in_the_url(
        dashboard_stack, context):
    printed = re.search(r"Dashboard \(admin\):\s+(\S+)", Path(dashboard_stack["logPath"]).read_text())
    link = f"{dashboard_stack['baseUrl']}/dashboard/sign-in#token={dashboard_stack['adminToken']}"
    assert printed and printed.group(1) == link
    page = context.new_page()
    page.goto(printed.group(1))
    page.wait_for_url(f"{dashboard_stack['baseUrl']}/dashboard")
    assert "token" not in page.url
    expect(page.get_by_role("heading", name="Invoices", exact=True)).to_be_visible()
    [cookie] = [c for c in context.cookies() if c["name"] == "twinmcp_session"]
    assert (cookie["httpOnly"], cookie["sameSite"], cookie["path"]) == (True, "Strict", "/dashboard")
    assert page.evaluate("document.cookie") == ""  # out of reach of the page's scripts
    assert not any("token=" in entry for entry in page.evaluate("[location.href, document.referrer]"))


def test_without_a_session_the_dashboard_asks_to_sign_in_and_a_bad_token_is_refused(dashboard_stack, context):
    page = context.new_page()
    page.goto(f"{dashboard_stack['baseUrl']}/dashboard")
    assert "/dashboard/sign-in" in page.url
    page.get_by_label("Access token").fill("not-a-token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("not valid")
    assert not [c for c in context.cookies() if c["name"] == "twinmcp_session"]


def test_signing_out_ends_the_session(dashboard_stack, context):
    page = sign_in(context, dashboard_stack, dashboard_stack["adminToken"])
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/dashboard/sign-in"))
    page.goto(f"{dashboard_stack['baseUrl']}/dashboard")
    assert "/dashboard/sign-in" in page.url


# ---- the list --------------------------------------------------------------------------------------------------

def test_admin_sees_the_seeded_invoices_with_customer_status_and_amounts(dashboard_stack, data, context, tmp_path):
    page = sign_in(context, dashboard_stack, dashboard_stack["adminToken"])
    page.get_by_label("From", exact=True).fill("2026-10-01")
    page.get_by_label("To", exact=True).fill("2026-10-31")
    page.get_by_role("button", name="Apply filters").click()
    expect(rows(page)).to_have_count(5)
    table = page.locator("table.invoices")
    for name in ("Acme SARL", "Dupont & Fils", "Globex Consulting", "Initech SAS", "Umbrella Labs"):
        expect(table).to_contain_text(name)
    acme = rows(page).filter(has_text="Acme SARL")
    expect(acme.locator(".badge")).to_have_text("Sent")
    expect(acme.locator('td[data-label="Total"]')).to_have_text("€19.80")  # en-US: the browser's language
    expect(acme.locator('td[data-label="Amount due"]')).to_have_text("€19.80")
    expect(acme.locator('td[data-label="Service period"]')).to_have_text("Oct 1 – 31, 2026")
    screenshot(page, "list.png", tmp_path)


def test_amounts_follow_the_viewers_language(dashboard_stack, data, browser):
    context = browser.new_context(locale="fr-FR")
    try:
        page = sign_in(context, dashboard_stack, make_token(ACME_ID))
        acme = rows(page).first
        expect(acme.locator('td[data-label="Total"]')).to_have_text(re.compile(r"^19,80\s€$"))
        expect(acme.locator('td[data-label="Service period"]')).to_have_text(re.compile(r"^1–31 oct\. 2026$"))
    finally:
        context.close()


def test_a_customer_pages_through_26_invoices_20_at_a_time(dashboard_stack, data, context):
    page = sign_in(context, dashboard_stack, make_token(data["user"]))
    first_page = numbers(page)
    assert len(first_page) == 20
    expect(page.locator("table.invoices")).not_to_contain_text("Acme SARL")
    expect(page.get_by_text("Previous page")).to_have_attribute("aria-disabled", "true")
    page.get_by_role("link", name="Next page").click()
    second_page = numbers(page)
    assert len(second_page) == 6 and not set(second_page) & set(first_page)
    expect(page.get_by_text("Next page")).to_have_attribute("aria-disabled", "true")
    page.get_by_role("link", name="Previous page").click()
    assert numbers(page) == first_page
    all_numbers = {invoice["number"] for invoice in data["invoices"].values()}
    assert set(first_page) | set(second_page) == all_numbers


def test_filters_by_status_and_period_keep_their_values_and_page_with_them(dashboard_stack, data, context):
    page = sign_in(context, dashboard_stack, make_token(data["user"]))
    page.get_by_label("Status", exact=True).select_option("PAID")
    page.get_by_role("button", name="Apply filters").click()
    expect(rows(page)).to_have_count(2)
    expect(page.get_by_label("Status", exact=True)).to_have_value("PAID")
    paid_numbers = {invoice["number"] for invoice in data["invoices"].values() if invoice["id"] in data["paid"]}
    assert set(numbers(page)) == paid_numbers
    expect(rows(page).locator('td[data-label="Amount due"]').first).to_have_text("€0.00")

    page.goto(f"{dashboard_stack['baseUrl']}/dashboard?from=2025-03-01&to=2025-05-31")
    expect(rows(page)).to_have_count(3)
    expected = {data["invoices"][(2025, month)]["number"] for month in (3, 4, 5)}
    assert set(numbers(page)) == expected
    expect(page.get_by_label("From", exact=True)).to_have_value("2025-03-01")

    # 2024-09 .. 2026-08 holds 22 SENT invoices (the action tests below cancel two from before): the next page
    # keeps the filters.
    page.goto(f"{dashboard_stack['baseUrl']}/dashboard?status=SENT&from=2024-09-01")
    assert len(numbers(page)) == 20
    page.get_by_role("link", name="Next page").click()
    expect(rows(page)).to_have_count(2)
    assert "status=SENT" in page.url and "from=2024-09-01" in page.url


def test_empty_and_invalid_filters_say_so(dashboard_stack, data, context):
    page = sign_in(context, dashboard_stack, make_token(data["user"]))
    page.goto(f"{dashboard_stack['baseUrl']}/dashboard?status=DRAFT")
    expect(page.get_by_role("heading", name="No invoices match these filters")).to_be_visible()
    page.goto(f"{dashboard_stack['baseUrl']}/dashboard?from=2025-06-01&to=2025-01-01")
    expect(page.get_by_role("alert")).to_contain_text("ends before it starts")


def test_admin_searches_by_customer_name_word_or_email(dashboard_stack, data, context):
    # Names and e-mails are encrypted: the search matches whole words and whole e-mails (blind indexes).
    page = sign_in(context, dashboard_stack, dashboard_stack["adminToken"])
    page.get_by_label("Customer", exact=True).fill("acme")
    page.get_by_role("button", name="Apply filters").click()
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_contain_text("Acme SARL")
    page.get_by_label("Customer", exact=True).fill("billing@globex.example")
    page.get_by_role("button", name="Apply filters").click()
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_contain_text("Globex Consulting")


def test_customers_get_no_customer_search(dashboard_stack, data, context):
    page = sign_in(context, dashboard_stack, make_token(data["user"]))
    expect(page.get_by_label("Customer", exact=True)).to_have_count(0)
    page.goto(f"{dashboard_stack['baseUrl']}/dashboard?q=acme")
    expect(page.locator("table.invoices")).not_to_contain_text("Acme SARL")


# ---- detail and documents ----------------------------------------------------------------------------------------

def test_the_detail_shows_customer_lines_vat_totals_and_amount_due(dashboard_stack, data, context, tmp_path):
    page = sign_in(context, dashboard_stack, dashboard_stack["adminToken"])
    page.get_by_label("Customer", exact=True).fill("Acme")
    page.get_by_role("button", name="Apply filters").click()
    number = data["acme_invoice"]["number"]
    page.get_by_role("link", name=number, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Invoice {number}")
    customer = page.get_by_role("region", name="Customer")
    for text in ("Acme SARL", "8 quai Saint-Antoine", "69002 Lyon", "compta@acme.example", "552100554"):
        expect(customer).to_contain_text(text)
    lines = page.locator("table.lines")
    expect(lines.locator("tbody tr")).to_have_count(2)
    expect(lines).to_contain_text("€0.50 / 1,000")
    expect(lines.locator("tfoot")).to_contain_text("VAT 20%")
    expect(lines.locator("tfoot")).to_contain_text("€3.30")
    expect(page.get_by_role("region", name="Amount due")).to_contain_text("€19.80")
    screenshot(page, "detail.png", tmp_path)


def test_pdfs_download_from_the_list_and_the_detail(dashboard_stack, data, context):
    page = sign_in(context, dashboard_stack, make_token(ACME_ID))
    with page.expect_download() as from_list:
        rows(page).first.get_by_role("link", name=re.compile("^PDF")).click()
    assert Path(from_list.value.path()).read_bytes().startswith(b"%PDF")
    assert from_list.value.suggested_filename == f"{data['acme_invoice']['number']}.pdf"
    rows(page).first.locator("th a").click()
    with page.expect_download() as from_detail:
        page.get_by_role("link", name="Download PDF").click()
    assert Path(from_detail.value.path()).read_bytes().startswith(b"%PDF")


def test_a_customer_cannot_open_or_download_another_customers_invoice(dashboard_stack, data, context):
    page = sign_in(context, dashboard_stack, make_token(data["user"]))
    other = data["acme_invoice"]["id"]
    reply = page.goto(f"{dashboard_stack['baseUrl']}/dashboard/invoices/{other}")
    assert reply.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("No such invoice")
    expect(page.locator("body")).not_to_contain_text("Acme")
    assert page.request.get(f"{dashboard_stack['baseUrl']}/dashboard/invoices/{other}/pdf",
                            max_redirects=0).status == 404


# ---- actions ---------------------------------------------------------------------------------------------------

def test_customers_get_no_admin_buttons(dashboard_stack, data, context):
    page = sign_in(context, dashboard_stack, make_token(data["user"]))
    page.goto(f"{dashboard_stack['baseUrl']}/dashboard/invoices/{data['invoices'][(2026, 8)]['id']}")
    expect(page.get_by_role("button", name="Mark as paid")).to_have_count(0)
    expect(page.get_by_role("button", name="Cancel invoice")).to_have_count(0)


def test_admin_cancels_an_invoice_after_confirming_and_sees_the_credit_note(dashboard_stack, data, context):
    page = sign_in(context, dashboard_stack, dashboard_stack["adminToken"])
    invoice = data["invoices"][(2024, 7)]
    page.goto(f"{dashboard_stack['baseUrl']}/dashboard/invoices/{invoice['id']}")
    questions = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
    page.get_by_role("button", name="Cancel invoice").click()
    expect(page.locator(".badge").first).to_have_text("Sent")  # dismissed: nothing happened
    assert questions and invoice["number"] in questions[0]

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Cancel invoice").click()
    expect(page.get_by_role("status").filter(has_text="cancelled")).to_be_visible()
    expect(page.locator("h1 .badge")).to_have_text("Cancelled")
    credit_note = page.get_by_role("region", name=re.compile(r"^Credit note AVO-\d{4}-\d{6}$"))
    expect(credit_note).to_contain_text("€10.80")
    expect(page.get_by_role("button", name="Cancel invoice")).to_have_count(0)
    history = page.get_by_role("region", name="History")  # from the audit trail
    expect(history).to_contain_text(f"Issued as {invoice['number']}")
    expect(history).to_contain_text("Sent → Cancelled by billing staff")


def test_the_detail_lists_payments_and_alerts(dashboard_stack, data, context):
    invoice = data["invoices"][(2024, 9)]
    base, admin = dashboard_stack["baseUrl"], dashboard_stack["adminToken"]
    for status, amount in (("FAILED", 500), ("COMPLETED", 300)):
        reply = http("POST", f"{base}/billing/invoices/{invoice['id']}/payments", token=admin, body={
            "amount": amount, "currency": "EUR", "provider": "stripe", "status": status,
            "providerTransactionId": f"{invoice['id']}-{status}"})
        assert reply.status == 201, reply.body
    page = sign_in(context, dashboard_stack, admin)
    page.goto(f"{base}/dashboard/invoices/{invoice['id']}")
    payments = page.get_by_role("region", name="Payments")
    expect(payments).to_contain_text("Failed")
    expect(payments).to_contain_text("€3.00")
    expect(page.get_by_role("region", name="Alerts")).to_contain_text("failed")
    expect(page.get_by_role("region", name="History")).to_contain_text("Payment recorded")


def test_a_refused_action_shows_the_apis_message(dashboard_stack, data, context):
    page = sign_in(context, dashboard_stack, dashboard_stack["adminToken"])
    invoice = data["invoices"][(2024, 8)]
    page.goto(f"{dashboard_stack['baseUrl']}/dashboard/invoices/{invoice['id']}")
    # Someone else cancels it meanwhile: the page still offers "Mark as paid", and the API refuses it.
    reply = http("PATCH", f"{dashboard_stack['baseUrl']}/billing/invoices/{invoice['id']}",
                 token=dashboard_stack["adminToken"], body={"status": "CANCELLED"})
    assert reply.status == 200, reply.body
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Mark as paid").click()
    expect(page.locator("#action-result")).to_have_text("Cannot move an invoice from CANCELLED to PAID")
    expect(page.locator("#action-result")).to_be_focused()


# ---- accessibility and phones ----------------------------------------------------------------------------------

def test_every_control_is_labelled_and_the_skip_link_comes_first(dashboard_stack, data, context):
    page = sign_in(context, dashboard_stack, dashboard_stack["adminToken"])
    unlabelled = page.evaluate("""[...document.querySelectorAll('input:not([type=hidden]), select')]
        .filter(el => el.labels.length === 0 && !el.getAttribute('aria-label')).map(el => el.name)""")
    assert unlabelled == []
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to main content")).to_be_focused()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.keyboard.press("Tab")  # into the page, not back to the header
    assert page.evaluate("document.activeElement.closest('main') !== null")


def test_the_list_and_the_detail_fit_a_phone_screen(dashboard_stack, data, browser, tmp_path):
    context = browser.new_context(locale="en-US", viewport={"width": 390, "height": 844}, is_mobile=True,
                                  has_touch=True, device_scale_factor=2)
    try:
        page = sign_in(context, dashboard_stack, make_token(ACME_ID))
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        expect(rows(page).first.locator('td[data-label="Total"]')).to_be_visible()
        screenshot(page, "list-phone.png", tmp_path)
        rows(page).first.locator("th a").click()
        expect(page.get_by_role("link", name="Download PDF")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        context.close()
