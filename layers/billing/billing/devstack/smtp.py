"""An SMTP sink: every message it accepts is written as an .eml file, nothing is relayed."""
from __future__ import annotations

import time
import uuid
from pathlib import Path


class _WriteEml:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        name = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}.eml"
        content = envelope.original_content or envelope.content
        (self.directory / name).write_bytes(content if isinstance(content, bytes) else content.encode())
        return "250 Message accepted for delivery"


def start_sink(directory: Path, port: int, host: str = "127.0.0.1"):
    import logging

    from aiosmtpd.controller import Controller  # dev dependency, only here

    logging.getLogger("mail.log").setLevel(logging.WARNING)  # it logs every recipient address at INFO
    directory.mkdir(parents=True, exist_ok=True)
    controller = Controller(_WriteEml(directory), hostname=host, port=port)
    controller.start()
    return controller
