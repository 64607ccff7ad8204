"""`billing einvoice validate FILE.pdf`: the Factur-X checks of one PDF, printed with their rule ids."""
from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub) -> None:
    einvoice = sub.add_parser("einvoice", help="EU e-invoices (Factur-X EN 16931)")
    actions = einvoice.add_subparsers(dest="einvoice_command", required=True)
    validate = actions.add_parser(
        "validate", help="check a PDF's factur-x.xml against the Factur-X XSD and EN 16931 schematron; exit 1 on error")
    validate.add_argument("files", nargs="+", type=Path, metavar="FILE.pdf")


def run(args: argparse.Namespace) -> int:
    """Prints each file's findings (errors and warnings with their rule ids) and a summary; 1 when any error."""
    from .validate import validate_pdf

    failed = False
    for path in args.files:
        try:
            report = validate_pdf(path.read_bytes())
        except OSError as exc:
            print(f"{path}: cannot read: {exc.strerror}")
            failed = True
            continue
        profile = f"profile {report.level}" if report.level else "no profile"
        print(f"{path}: {report.attachment or 'no XML'}, {profile}; "
              f"schematron {report.schematron or 'not run'}")
        for finding in report.findings:
            where = f" at {finding.location}" if finding.location else ""
            print(f"  {finding.severity} [{finding.rule}] {finding.message}{where}")
        print(f"  {len(report.errors)} error(s), {len(report.warnings)} warning(s)")
        failed = failed or bool(report.errors) or report.schematron is None
    return 1 if failed else 0
