"""template.yaml agrees with the code tree: handlers exist, routes are namespaced and authenticated."""
from __future__ import annotations

from pathlib import Path

import pytest

from billing.devstack.template import load_template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = ROOT / "template.yaml"

# Routes that may be called without a JWT; every other route must have an authorizer.
PUBLIC_ROUTES = {
    ("GET", "/billing/health"),
    ("GET", "/billing/openapi.json"),
    ("GET", "/dashboard"),
    # The dashboard's pages verify the session cookie themselves (billing/web/session.py).
    ("GET", "/dashboard/sign-in"),
    ("POST", "/dashboard/session"),
    ("POST", "/dashboard/sign-out"),
    ("GET", "/dashboard/invoices/{id}"),
    ("GET", "/dashboard/invoices/{id}/pdf"),
    ("POST", "/dashboard/invoices/{id}/actions/{name}"),
    ("GET", "/dashboard/static/{name}"),
}

TEMPLATE = load_template(TEMPLATE_PATH)
RESOURCES: dict = TEMPLATE["Resources"]
GLOBAL_FUNCTION: dict = TEMPLATE.get("Globals", {}).get("Function", {})
FUNCTIONS = {name: r for name, r in RESOURCES.items() if r["Type"] == "AWS::Serverless::Function"}
HTTP_ROUTES = [
    event["Properties"]
    for function in FUNCTIONS.values()
    for event in function["Properties"].get("Events", {}).values()
    if event["Type"] == "HttpApi"
]


def _function_property(function: dict, key: str):
    return function["Properties"].get(key, GLOBAL_FUNCTION.get(key))


def _route_id(route: dict) -> str:
    return f"{route['Method'].upper()} {route['Path']}"


def _route_authorizer(route: dict) -> str | None:
    """The authorizer that guards a route, or None when it is public."""
    api_ref = route.get("ApiId", {}).get("Ref") if isinstance(route.get("ApiId"), dict) else None
    if api_ref is None:  # the implicit API takes its settings from Globals
        api_auth = TEMPLATE.get("Globals", {}).get("HttpApi", {}).get("Auth", {})
    else:
        api_auth = RESOURCES[api_ref]["Properties"].get("Auth", {})
    name = route.get("Auth", {}).get("Authorizer", api_auth.get("DefaultAuthorizer"))
    if name in (None, "NONE"):
        return None
    assert name in api_auth.get("Authorizers", {}), f"authorizer {name} is not defined on the API"
    return name


def _references(value, resource: str) -> bool:
    if isinstance(value, dict):
        if value.get("Ref") == resource:
            return True
        get_att = value.get("Fn::GetAtt")
        if isinstance(get_att, list) and get_att and get_att[0] == resource:
            return True
        sub = value.get("Fn::Sub")
        template_string = sub[0] if isinstance(sub, list) else sub
        if isinstance(template_string, str) and (
            "${" + resource + "}" in template_string or "${" + resource + "." in template_string
        ):
            return True
        return any(_references(v, resource) for v in value.values())
    if isinstance(value, list):
        return any(_references(v, resource) for v in value)
    return False


@pytest.mark.parametrize("function_name", sorted(FUNCTIONS))
def test_function_code_uri_contains_its_handler_module(function_name):
    if not (ROOT / "functions").is_dir():
        pytest.skip("functions/ does not exist yet: the handlers are written separately")
    function = FUNCTIONS[function_name]
    code_uri = _function_property(function, "CodeUri")
    handler = _function_property(function, "Handler")
    module_path = handler.rsplit(".", 1)[0].replace(".", "/") + ".py"
    assert (ROOT / code_uri / module_path).is_file(), f"{function_name}: {code_uri}{module_path} is missing"


@pytest.mark.parametrize("route", HTTP_ROUTES, ids=_route_id)
def test_http_route_lives_under_billing_or_is_the_dashboard(route):
    assert route["Path"].startswith(("/billing/", "/dashboard/")) or route["Path"] == "/dashboard"


@pytest.mark.parametrize("route", HTTP_ROUTES, ids=_route_id)
def test_http_route_requires_a_jwt_unless_explicitly_public(route):
    if (route["Method"].upper(), route["Path"]) in PUBLIC_ROUTES:
        return
    assert _route_authorizer(route) is not None, f"{_route_id(route)} is public but not in PUBLIC_ROUTES"


def test_http_routes_are_unique():
    route_ids = [_route_id(route) for route in HTTP_ROUTES]
    assert len(route_ids) == len(set(route_ids))


def test_billing_layer_ships_the_billing_package():
    content_uri = RESOURCES["BillingLayer"]["Properties"]["ContentUri"]
    assert (ROOT / content_uri / "billing" / "__init__.py").is_file()


def test_functions_notified_by_a_bucket_do_not_reference_it():
    # The bucket's NotificationConfiguration depends on the function, so a Ref back
    # to the bucket is a circular dependency that cfn-lint does not report.
    for name, function in FUNCTIONS.items():
        for event in function["Properties"].get("Events", {}).values():
            if event["Type"] != "S3":
                continue
            bucket = event["Properties"]["Bucket"]["Ref"]
            own_properties = {k: v for k, v in function["Properties"].items() if k != "Events"}
            assert not _references(own_properties, bucket), f"{name} references {bucket}"
            assert not _references(GLOBAL_FUNCTION, bucket), f"Globals.Function references {bucket}"


def test_every_function_may_read_the_database_secret():
    functions = {name for name, resource in TEMPLATE["Resources"].items()
                 if resource.get("Type") == "AWS::Serverless::Function"}
    roles = {ref["Ref"] for ref in TEMPLATE["Resources"]["DatabaseSecretReadPolicy"]["Properties"]["Roles"]}
    assert roles == {f"{name}Role" for name in functions}
