"""Outgoing e-mail over SMTP (the local sink on the embedded stack, SES SMTP or any relay in the cloud)."""
from __future__ import annotations

import smtplib
from email.message import EmailMessage

from billing.config import settings


def send(to: str, subject: str, text: str, attachment: tuple[str, bytes, str] | None = None) -> None:
    cfg = settings()
    message = EmailMessage()
    message["From"] = cfg.mail_from
    message["To"] = to
    message["Subject"] = subject
    message.set_content(text)
    if attachment:
        filename, data, mime = attachment
        maintype, subtype = mime.split("/", 1)
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    with smtplib.SMTP(cfg.smtp_host, cfg.smtp_port, timeout=10) as smtp:
        smtp.send_message(message)
