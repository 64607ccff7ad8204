"""GET /dashboard and its pages: invoices, one invoice, its PDF, sign-in; the caller comes from the session cookie."""
from billing.api.errors import problem
from billing.api.http import invoice_id, query
from billing.domain.errors import InvalidPeriod, InvalidRequest, Unauthorized
from billing.services.invoices.query import get_invoice, pdf_download
from billing.services.invoices.search import search_invoices
from billing.web import actions
from billing.web.http import (api_base, form, is_https, logger, make_app, page, pdf_inline, redirect, relay,
                              require_same_origin, safe_next, session, static_file)
from billing.web.models import ListQuery
from billing.web.session import cleared_cookie, session_cookie, session_of

PAGE_SIZE = 20

app = make_app()


@app.get("/dashboard")
def list_invoices():
    who, typed = session(app), app.current_event.query_string_parameters or {}
    try:
        params = query(app, ListQuery)
        found = search_invoices(who.caller, params.filters(admin=who.caller.is_admin), limit=PAGE_SIZE,
                                after=params.after, before=params.before)
    except (InvalidPeriod, InvalidRequest) as exc:  # shown above the filters, which keep what was typed
        return page(app, "invoices.html", who, status=400, typed=typed, params=None, found=None, error=exc.detail)
    return page(app, "invoices.html", who, typed=typed, params=params, found=found, error=None)


@app.get("/dashboard/invoices/<id>")
def show_invoice(id: str):  # noqa: A002 - the path parameter's name
    who, done = session(app), (app.current_event.query_string_parameters or {}).get("done")
    invoice = get_invoice(who.caller, invoice_id(id))
    return page(app, "invoice.html", who, invoice=invoice, actions=actions.offered(who.caller, invoice, api_base(app)),
                done=done)


@app.get("/dashboard/invoices/<id>/pdf")
def download_pdf(id: str):  # noqa: A002 - the path parameter's name
    kind, result = pdf_download(session(app).caller, invoice_id(id))
    return redirect(result, status=302) if kind == "redirect" else pdf_inline(kind, result)


@app.post("/dashboard/invoices/<id>/actions/<name>")
def run_action(id: str, name: str):  # noqa: A002 - the path parameter's name
    require_same_origin(app)
    who, action = session(app), actions.ACTIONS.get(name)
    if action is None:
        return problem(404, "unknown_action", "No such action", "This is not an invoice action")
    return relay(action, actions.forward(action, invoice_id(id), who.token, api_base(app)))


@app.get("/dashboard/sign-in")
def sign_in_page():
    params = app.current_event.query_string_parameters or {}
    return page(app, "sign_in.html", None, next=safe_next(params.get("next")), expired=params.get("expired") == "1",
                error=None)


@app.post("/dashboard/session")
def sign_in():
    require_same_origin(app)
    fields = form(app)
    try:
        who = session_of(fields.get("token", "").strip())
    except Unauthorized as exc:
        return page(app, "sign_in.html", None, status=401, next=safe_next(fields.get("next")), expired=False,
                    error=exc.detail)
    return redirect(safe_next(fields.get("next")), cookies=[session_cookie(who, secure=is_https(app))])


@app.post("/dashboard/sign-out")
def sign_out():
    require_same_origin(app)
    return redirect("/dashboard/sign-in", cookies=[cleared_cookie(secure=is_https(app))])


@app.get("/dashboard/static/<name>")
def static(name: str):
    return static_file(name)


@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    return app.resolve(event, context)
