"""Outgoing e-mail: SMTP (STARTTLS when offered, login when configured) or Amazon SES, retried when transient."""
from __future__ import annotations

import smtplib
import time
from email.message import EmailMessage

from billing.config import Settings, settings
from billing.domain.errors import EmailFailed

ATTEMPTS = 3
BACKOFF_SECONDS = (0.2, 0.8)


def build(cfg: Settings, to: str, subject: str, text: str, html: str | None,
          attachment: tuple[str, bytes, str] | None) -> EmailMessage:
    message = EmailMessage()
    message["From"] = cfg.mail_from
    message["To"] = to
    message["Subject"] = subject
    message.set_content(text)
    if html:
        message.add_alternative(html, subtype="html")
    if attachment:
        filename, data, mime = attachment
        maintype, subtype = mime.split("/", 1)
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message


def send(to: str, subject: str, text: str, attachment: tuple[str, bytes, str] | None = None,
         html: str | None = None) -> None:
    """Raises EmailFailed when the server refuses for good or stays unreachable after the retries."""
    cfg = settings()
    message = build(cfg, to, subject, text, html, attachment)
    deliver = _ses if cfg.email_provider == "ses" else _smtp
    for attempt in range(ATTEMPTS):
        try:
            deliver(cfg, message)
            return
        except _Permanent as exc:
            raise EmailFailed(f"The mail server refused the message: {exc}") from exc
        except (OSError, smtplib.SMTPException) as exc:
            if attempt == ATTEMPTS - 1:
                raise EmailFailed(f"The mail server could not be reached: {type(exc).__name__}") from exc
            time.sleep(BACKOFF_SECONDS[attempt])


class _Permanent(Exception):
    pass


def _smtp(cfg: Settings, message: EmailMessage) -> None:
    try:
        with smtplib.SMTP(cfg.smtp_host, cfg.smtp_port, timeout=10) as smtp:
            smtp.ehlo()
            if smtp.has_extn("starttls"):
                smtp.starttls()
                smtp.ehlo()
            if cfg.smtp_user:
                smtp.login(cfg.smtp_user, cfg.smtp_password or "")
            smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        raise _Permanent(str(exc)) from exc
    except smtplib.SMTPResponseException as exc:
        if 500 <= exc.smtp_code < 600:  # 5xx: refused for good; 4xx: try again
            raise _Permanent(f"{exc.smtp_code} {exc.smtp_error!r}") from exc
        raise


def _ses(cfg: Settings, message: EmailMessage) -> None:
    import boto3
    from botocore.exceptions import ClientError

    client = boto3.client("ses", region_name=cfg.aws_region, endpoint_url=cfg.ses_endpoint_url)
    try:
        client.send_raw_email(Source=cfg.mail_from, Destinations=[message["To"]],
                              RawMessage={"Data": message.as_bytes()})
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in ("Throttling", "ServiceUnavailable", "InternalFailure"):
            raise OSError(code) from exc
        raise _Permanent(code) from exc
