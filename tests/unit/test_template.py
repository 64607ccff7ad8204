"""template.yaml agrees with the code tree and with what a production deployment needs: handlers exist, routes are
namespaced and authenticated, PDF renderers are images, permissions are scoped, failures raise alarms."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from billing.devstack.template import load_template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = ROOT / "template.yaml"
PDF_DOCKERFILE = "functions/pdf_image/Dockerfile"

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

# The functions whose code path renders a PDF (weasyprint needs pango, harfbuzz and fonts): they are container
# images of functions/pdf_image/Dockerfile. Every other function is zip + layer, and the layer has no weasyprint.
PDF_RENDERING_FUNCTIONS = {
    "CreateInvoiceFunction",  # issues the invoice and stores its PDF
    "UpdateInvoiceFunction",  # issues drafts, cancels (credit note PDF)
    "SendInvoiceFunction",  # renders again a PDF missing from the bucket
    "DownloadInvoicePdfFunction",  # DRAFT preview, inline PDF when S3 is down
    "DashboardFunction",  # the same PDF link
    "DailyBillingFunction",  # re-stores PDFs never recorded
    "InvoiceWorkerFunction",  # the monthly run issues invoices
}

TEMPLATE = load_template(TEMPLATE_PATH)
RESOURCES: dict = TEMPLATE["Resources"]
GLOBAL_FUNCTION: dict = TEMPLATE.get("Globals", {}).get("Function", {})
FUNCTIONS = {name: r for name, r in RESOURCES.items() if r["Type"] == "AWS::Serverless::Function"}
IMAGE_FUNCTIONS = {name for name, r in FUNCTIONS.items() if r["Properties"].get("PackageType") == "Image"}
ZIP_FUNCTIONS = set(FUNCTIONS) - IMAGE_FUNCTIONS
HTTP_ROUTES = [
    event["Properties"]
    for function in FUNCTIONS.values()
    for event in function["Properties"].get("Events", {}).values()
    if event["Type"] == "HttpApi"
]
ALARMS = {name: r for name, r in RESOURCES.items() if r["Type"] == "AWS::CloudWatch::Alarm"}


def _function_property(function: dict, key: str):
    return function["Properties"].get(key, GLOBAL_FUNCTION.get(key))


def _local_source(name: str) -> tuple[str, str]:
    """(code directory, handler) of a function as the local stack runs it: CodeUri and Handler for zip functions,
    Metadata.LocalCodeUri and ImageConfig.Command for images."""
    function = FUNCTIONS[name]
    if name in IMAGE_FUNCTIONS:
        return function["Metadata"]["LocalCodeUri"], function["Properties"]["ImageConfig"]["Command"][0]
    return _function_property(function, "CodeUri"), _function_property(function, "Handler")


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


def _statements(policy_resource: str) -> list[dict]:
    statements = RESOURCES[policy_resource]["Properties"]["PolicyDocument"]["Statement"]
    return statements if isinstance(statements, list) else [statements]


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def _sub_text(value) -> str:
    """The template string of an ARN written as !Sub (either form), else ''."""
    sub = value.get("Fn::Sub") if isinstance(value, dict) else None
    return sub[0] if isinstance(sub, list) else (sub or "")


# ---- every function and route reaches code that exists ----------------------------------------------------

@pytest.mark.parametrize("function_name", sorted(FUNCTIONS))
def test_function_code_uri_contains_its_handler_module(function_name):
    code_uri, handler = _local_source(function_name)
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


@pytest.mark.parametrize("route", HTTP_ROUTES, ids=_route_id)
def test_http_route_belongs_to_the_billing_api(route):
    assert route.get("ApiId") == {"Ref": "HttpApi"}, f"{_route_id(route)} is on an implicit API without the authorizer"


def test_http_routes_are_unique():
    route_ids = [_route_id(route) for route in HTTP_ROUTES]
    assert len(route_ids) == len(set(route_ids))


def test_billing_layer_ships_the_billing_package():
    content_uri = RESOURCES["BillingLayer"]["Properties"]["ContentUri"]
    assert (ROOT / content_uri / "billing" / "__init__.py").is_file()


# ---- packaging: zip + layer, or the PDF image ----------------------------------------------------------------

def test_globals_hold_nothing_an_image_function_may_not_have():
    # SAM rejects Runtime, Handler and Layers on a PackageType: Image function, and Globals apply to all.
    assert not {"Runtime", "Handler", "Layers", "CodeUri"} & set(GLOBAL_FUNCTION)


def test_globals_hold_the_shared_settings():
    assert GLOBAL_FUNCTION["Architectures"] == ["arm64"]
    assert {"Timeout", "MemorySize", "LoggingConfig", "VpcConfig"} <= set(GLOBAL_FUNCTION)
    variables = GLOBAL_FUNCTION["Environment"]["Variables"]
    assert {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_LOG_LEVEL", "POWERTOOLS_METRICS_NAMESPACE"} <= set(variables)
    log_group = RESOURCES[GLOBAL_FUNCTION["LoggingConfig"]["LogGroup"]["Ref"]]
    assert log_group["Type"] == "AWS::Logs::LogGroup" and "RetentionInDays" in log_group["Properties"]


@pytest.mark.parametrize("function_name", sorted(ZIP_FUNCTIONS))
def test_zip_function_runs_python_311_on_the_billing_layer(function_name):
    properties = FUNCTIONS[function_name]["Properties"]
    assert properties.get("Runtime") == "python3.11", f"{function_name}: add `Runtime: python3.11`"
    assert {"Ref": "BillingLayer"} in properties.get("Layers", []), f"{function_name}: add `Layers: [!Ref BillingLayer]`"


def test_pdf_rendering_functions_are_the_image_functions():
    assert IMAGE_FUNCTIONS == PDF_RENDERING_FUNCTIONS


@pytest.mark.parametrize("function_name", sorted(IMAGE_FUNCTIONS))
def test_image_function_is_built_from_the_pdf_dockerfile_with_its_own_handler(function_name):
    function = FUNCTIONS[function_name]
    properties, metadata = function["Properties"], function["Metadata"]
    assert not {"Runtime", "Handler", "Layers", "CodeUri"} & set(properties)
    assert properties["ImageConfig"]["Command"] == ["app.handler"]
    assert metadata["DockerContext"] == "." and metadata["Dockerfile"] == PDF_DOCKERFILE
    assert (ROOT / PDF_DOCKERFILE).is_file()
    # The image copies FUNCTION_DIR/app.py; the local stack runs LocalCodeUri/app.py: the same file.
    assert metadata["DockerBuildArgs"]["FUNCTION_DIR"].rstrip("/") == metadata["LocalCodeUri"].rstrip("/")


def _requirements(path: str) -> list[str]:
    lines = (ROOT / path).read_text().splitlines()
    return [line.strip().lower() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def test_layer_leaves_weasyprint_to_the_image():
    layer, image = _requirements("layers/billing/requirements.txt"), _requirements("functions/pdf_image/requirements.txt")
    assert not [line for line in layer if line.startswith("weasyprint")]
    assert "-r ../../layers/billing/requirements.txt" in image
    assert [line for line in image if line.startswith("weasyprint")]


def test_zip_functions_never_import_weasyprint_at_cold_start():
    # weasyprint is not in the layer: a zip function that imported it would fail at its first cold start.
    modules = sorted(str(ROOT / _local_source(name)[0] / "app.py") for name in ZIP_FUNCTIONS)
    script = (
        "import importlib.util, sys\n"
        "for i, path in enumerate(sys.argv[1:]):\n"
        "    spec = importlib.util.spec_from_file_location(f'app_{i}', path)\n"
        "    spec.loader.exec_module(importlib.util.module_from_spec(spec))\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('weasyprint', 'pydyf')))\n"
    )
    env = {**os.environ, "AWS_DEFAULT_REGION": "eu-west-3", "POWERTOOLS_SERVICE_NAME": "billing",
           "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run([sys.executable, "-c", script, *modules], capture_output=True, text=True, env=env,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"


# ---- permissions ---------------------------------------------------------------------------------------------

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
            for policy in own_properties.get("Policies", []):
                if isinstance(policy, dict) and "Ref" in policy and policy["Ref"] in RESOURCES:
                    assert not _references(RESOURCES[policy["Ref"]], bucket), f"{policy['Ref']} references {bucket}"


def test_every_function_may_read_the_database_secret():
    roles = {ref["Ref"] for ref in RESOURCES["DatabaseSecretReadPolicy"]["Properties"]["Roles"]}
    assert roles == {f"{name}Role" for name in FUNCTIONS}


def test_personal_fields_are_wrapped_by_the_kms_key_every_function_may_use_for_that_purpose_only():
    # Without KMS_KEY_ID, billing.ports.keys would look for a local key file, which Lambda does not have.
    assert GLOBAL_FUNCTION["Environment"]["Variables"]["KMS_KEY_ID"] == {"Ref": "PersonalDataKey"}
    assert RESOURCES["PersonalDataKey"]["Properties"]["EnableKeyRotation"] is True
    kms = [s for s in _statements("DatabaseSecretReadPolicy") if s["Resource"] == {"Fn::GetAtt": ["PersonalDataKey", "Arn"]}]
    assert kms and kms[0]["Condition"]["StringEquals"] == {"kms:EncryptionContext:purpose": "billing-data-key"}
    assert '"purpose": "billing-data-key"' in (ROOT / "layers/billing/billing/ports/keys.py").read_text()


@pytest.mark.parametrize("function_name", sorted(FUNCTIONS))
def test_no_function_gets_a_bucket_wide_s3_policy_template(function_name):
    policies = FUNCTIONS[function_name]["Properties"].get("Policies", [])
    templates = {key for policy in policies if isinstance(policy, dict) for key in policy if key.startswith("S3")}
    assert not templates, f"{function_name}: use DocumentsReadPolicy / DocumentsWritePolicy (prefix-scoped)"


def test_s3_object_permissions_are_scoped_to_the_invoices_and_archive_prefixes():
    for name, resource in RESOURCES.items():
        if resource["Type"] != "AWS::IAM::ManagedPolicy":
            continue
        for statement in _statements(name):
            actions = _as_list(statement["Action"])
            if not any(a.startswith("s3:") for a in actions):
                continue
            for arn in _as_list(statement["Resource"]):
                text = _sub_text(arn)
                if actions == ["s3:ListBucket"]:
                    assert text.endswith(":::${Bucket}"), f"{name}: ListBucket on {text}"
                else:
                    assert text.endswith(("/invoices/*", "/archive/*")), f"{name}: {actions} on {text}"


def test_pdf_writers_may_write_and_the_archiver_may_delete():
    def attached(function_name: str) -> set[str]:
        return {p["Ref"] for p in FUNCTIONS[function_name]["Properties"].get("Policies", [])
                if isinstance(p, dict) and "Ref" in p}

    for name in PDF_RENDERING_FUNCTIONS:
        assert {"DocumentsReadPolicy", "DocumentsWritePolicy"} <= attached(name), name
    assert "DocumentsArchivePolicy" in attached("DailyBillingFunction")
    holders = {name for name in FUNCTIONS if "DocumentsArchivePolicy" in attached(name)}
    assert holders == {"DailyBillingFunction"}, "only the daily run deletes documents"


# ---- database, queue, concurrency --------------------------------------------------------------------------

def test_functions_reach_the_database_through_the_rds_proxy_when_there_is_one():
    proxy = RESOURCES["DatabaseProxy"]
    assert proxy["Properties"]["EngineFamily"] == "POSTGRESQL"
    assert proxy["Properties"]["Auth"][0]["SecretArn"] == {"Ref": "DatabaseSecretArn"}
    host = GLOBAL_FUNCTION["Environment"]["Variables"]["DATABASE_HOST"]
    assert host["Fn::If"][0] == proxy["Condition"] and host["Fn::If"][1] == {"Fn::GetAtt": ["DatabaseProxy", "Endpoint"]}


def test_worker_concurrency_is_bounded_by_reserved_concurrency_and_the_sqs_source():
    worker = FUNCTIONS["InvoiceWorkerFunction"]["Properties"]
    source = worker["Events"]["Jobs"]["Properties"]
    assert worker["ReservedConcurrentExecutions"] == {"Ref": "WorkerConcurrency"}
    assert source["ScalingConfig"]["MaximumConcurrency"] == {"Ref": "WorkerConcurrency"}
    assert "ReportBatchItemFailures" in source["FunctionResponseTypes"]


def test_sqs_visibility_timeout_covers_six_worker_timeouts():
    for function in FUNCTIONS.values():
        for event in function["Properties"].get("Events", {}).values():
            if event["Type"] == "SQS":
                queue = RESOURCES[event["Properties"]["Queue"]["Fn::GetAtt"][0]]["Properties"]
                assert queue["VisibilityTimeout"] >= 6 * _function_property(function, "Timeout")


# ---- the bucket ----------------------------------------------------------------------------------------------

def test_documents_bucket_is_private_versioned_kms_encrypted_and_tls_only():
    bucket = RESOURCES["DocumentsBucket"]
    properties = bucket["Properties"]
    assert bucket["DeletionPolicy"] == "Retain"
    assert properties["VersioningConfiguration"]["Status"] == "Enabled"
    assert all(properties["PublicAccessBlockConfiguration"].values())
    rule = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"] == {"Fn::GetAtt": ["DocumentsKey", "Arn"]}
    assert RESOURCES["DocumentsKey"]["Properties"]["EnableKeyRotation"] is True
    statement = _statements("DocumentsBucketPolicy")[0]
    assert statement["Effect"] == "Deny" and statement["Condition"]["Bool"]["aws:SecureTransport"] == "false"


def test_documents_bucket_has_an_archive_lifecycle_and_optional_compliance_lock():
    properties = RESOURCES["DocumentsBucket"]["Properties"]
    rules = properties["LifecycleConfiguration"]["Rules"]
    assert any(r.get("Prefix") == "archive/" for r in rules)
    assert any("NoncurrentVersionExpiration" in r for r in rules), "purged PDFs must not live on as old versions"
    lock = properties["ObjectLockConfiguration"]["Fn::If"]
    assert lock[0] == "HasObjectLock" and lock[1]["Rule"]["DefaultRetention"]["Mode"] == "COMPLIANCE"
    assert properties["ObjectLockEnabled"]["Fn::If"][0] == "HasObjectLock"


# ---- alarms and outputs --------------------------------------------------------------------------------------

def _dead_letter_queues() -> set[str]:
    found = set()
    for resource in RESOURCES.values():
        redrive = resource.get("Properties", {}).get("RedrivePolicy")
        if resource["Type"] == "AWS::SQS::Queue" and redrive:
            found.add(redrive["deadLetterTargetArn"]["Fn::GetAtt"][0])
        destination = (resource.get("Properties", {}).get("EventInvokeConfig", {})
                       .get("DestinationConfig", {}).get("OnFailure", {}).get("Destination"))
        if destination:
            found.add(destination["Fn::GetAtt"][0])
    return found


def test_every_dead_letter_queue_has_a_depth_alarm():
    watched = {alarm["Properties"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
               for alarm in ALARMS.values()
               if alarm["Properties"].get("MetricName") == "ApproximateNumberOfMessagesVisible"}
    assert _dead_letter_queues() and _dead_letter_queues() <= watched


def test_alarms_cover_errors_throttles_api_5xx_and_p99_latency():
    metrics = set()
    for alarm in ALARMS.values():
        properties = alarm["Properties"]
        metrics.add(properties.get("MetricName"))
        metrics.update(m["MetricStat"]["Metric"]["MetricName"] for m in properties.get("Metrics", []) if "MetricStat" in m)
    assert {"Errors", "Throttles", "5xx", "Latency", "DocumentCorrupt"} <= metrics
    assert any(a["Properties"].get("ExtendedStatistic") == "p99" for a in ALARMS.values())


@pytest.mark.parametrize("alarm_name", sorted(ALARMS))
def test_every_alarm_notifies_the_alarm_topic(alarm_name):
    assert {"Ref": "AlarmTopic"} in ALARMS[alarm_name]["Properties"]["AlarmActions"]


def test_alarm_topic_mails_the_alarm_email_when_given():
    subscription = RESOURCES["AlarmEmailSubscription"]
    assert subscription["Condition"] == "HasAlarmEmail"
    assert subscription["Properties"]["Endpoint"] == {"Ref": "AlarmEmail"}


def test_parameters_and_outputs_of_a_production_deployment():
    assert {"Stage", "JwtIssuer", "JwtAudience", "DatabaseSecretArn", "SubnetIds", "SecurityGroupIds",
            "BucketName", "AlarmEmail"} <= set(TEMPLATE["Parameters"])
    assert {"ApiUrl", "BucketName", "InvoiceJobsQueueUrl", "DashboardUrl"} <= set(TEMPLATE["Outputs"])


def test_template_is_json_serialisable_after_loading():
    # A stray YAML anchor or a timestamp would not survive CloudFormation; this catches them early.
    json.dumps(TEMPLATE)
