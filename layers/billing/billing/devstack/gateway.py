"""An HTTP API (payload 2.0) emulator: HTTP request -> API Gateway v2 event -> the route's handler -> HTTP response."""
from __future__ import annotations

import base64
import errno
import json
import logging
import os
import socket
import sys
import threading
import time
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import jwt

from billing.config import Settings

from .lambda_runtime import invoke
from .processes import ChildProcesses, stop_event, wait_for_stop
from .template import Route

log = logging.getLogger("billing.gateway")

TEXT_TYPES = ("text/", "application/json", "application/xml", "application/x-www-form-urlencoded",
              "application/javascript", "+json", "+xml")
MAX_BODY = 10 * 1024 * 1024  # API Gateway's payload limit


def is_text(content_type: str) -> bool:
    content_type = content_type.lower()
    return not content_type or any(t in content_type for t in TEXT_TYPES)


def _claim(value: Any) -> str:
    """The cloud authorizer hands every claim over as a string, arrays as "[a b]"."""
    return f"[{' '.join(str(v) for v in value)}]" if isinstance(value, list) else str(value)


def build_event(route: Route, method: str, target: str, headers: dict[str, str], body: bytes,
                claims: dict[str, Any] | None, source_ip: str, params: dict[str, str]) -> dict[str, Any]:
    parts = urlsplit(target)
    query: dict[str, list[str]] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        query.setdefault(key, []).append(value)
    text = is_text(headers.get("content-type", ""))
    if text:
        try:
            body_text = body.decode("utf-8")
        except UnicodeDecodeError:
            text = False
    now = datetime.now(timezone.utc)
    request_context: dict[str, Any] = {
        "accountId": "000000000000", "apiId": "local", "domainName": headers.get("host", "127.0.0.1"),
        "domainPrefix": "local",
        "http": {"method": method, "path": parts.path, "protocol": "HTTP/1.1", "sourceIp": source_ip,
                 "userAgent": headers.get("user-agent", "")},
        "requestId": str(uuid.uuid4()), "routeKey": route.route_key, "stage": "$default",
        "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"), "timeEpoch": int(now.timestamp() * 1000),
    }
    if claims is not None:
        request_context["authorizer"] = {"jwt": {"claims": {k: _claim(v) for k, v in claims.items()}, "scopes": None}}
    event: dict[str, Any] = {
        "version": "2.0", "routeKey": route.route_key, "rawPath": parts.path, "rawQueryString": parts.query,
        "headers": {k: v for k, v in headers.items() if k != "cookie"}, "requestContext": request_context,
        "isBase64Encoded": False,
    }
    if "cookie" in headers:
        event["cookies"] = [c.strip() for c in headers["cookie"].split(";") if c.strip()]
    if query:
        event["queryStringParameters"] = {k: ",".join(v) for k, v in query.items()}
    if params:
        event["pathParameters"] = params
    if body:
        event["body"] = body_text if text else base64.b64encode(body).decode()
        event["isBase64Encoded"] = not text
    return event


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # socketserver's 5 drops the SYNs of a burst of clients: a 1 s retransmit each


class Gateway:
    def __init__(self, cfg: Settings, routes: list[Route], host: str = "127.0.0.1", port: int = 3000,
                 listener: socket.socket | None = None) -> None:
        """Binds host:port, or serves `listener`, a listening socket shared with other gateway processes."""
        self.cfg = cfg
        self.routes = routes
        if listener is None:
            self.server = _Server((host, port), self._handler_class())
        else:
            self.server = _Server(listener.getsockname(), self._handler_class(), bind_and_activate=False)
            self.server.socket.close()
            self.server.socket = listener
        self.port = self.server.socket.getsockname()[1]
        self._thread: threading.Thread | None = None

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str]]:
        """The route and its path parameters; like HTTP API, an unmatched method is a plain 404."""
        for route in self.routes:
            found = route.pattern.match(path)
            if found and route.method in (method, "ANY"):
                return route, found.groupdict()
        return None, {}

    def authorize(self, headers: dict[str, str]) -> dict[str, Any] | None:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        try:
            from .tokens import verify_token

            return verify_token(self.cfg, token.strip())
        except jwt.InvalidTokenError:
            return None

    def _handler_class(self):
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "twinmcp-local-gateway"
            # Headers and body go out in two writes: with Nagle's algorithm the body waits for the client's
            # delayed ACK of the headers (40 ms on Linux) on every keep-alive response.
            disable_nagle_algorithm = True

            def version_string(self) -> str:
                # Which gateway process answered: `billing stack --gateway-processes N` runs several.
                return f"{self.server_version} (pid {os.getpid()})"

            def log_message(self, fmt: str, *args: Any) -> None:
                log.info("%s %s", self.address_string(), fmt % args)

            def _send(self, status: int, headers: dict[str, str], body: bytes, cookies: list[str] = ()) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    if key.lower() not in ("content-length", "connection", "transfer-encoding"):
                        self.send_header(key, value)
                for cookie in cookies:
                    self.send_header("Set-Cookie", cookie)
                self.send_header("Content-Length", str(len(body)))
                if self.request_version == "HTTP/1.0" and not self.close_connection:
                    # An HTTP/1.0 client asked for keep-alive (ab -k): it reuses the connection only when told so.
                    self.send_header("Connection", "keep-alive")
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _message(self, status: int, message: str, extra: dict[str, str] | None = None) -> None:
                body = json.dumps({"message": message}).encode()
                self._send(status, {"Content-Type": "application/json", **(extra or {})}, body)

            def _dispatch(self) -> None:
                started = time.perf_counter()
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    length = int(headers.get("content-length") or 0)
                except ValueError:
                    length = -1
                if length < 0:
                    return self._message(400, "Bad Request")
                if length > MAX_BODY:
                    return self._message(413, "Request Entity Too Large")
                body = self.rfile.read(length) if length else b""
                path = urlsplit(self.path).path
                route, params = gateway.match(self.command, path)
                if route is None:
                    return self._message(404, "Not Found")
                claims = None
                if route.authorized:
                    claims = gateway.authorize(headers)
                    if claims is None:
                        return self._message(401, "Unauthorized", {"WWW-Authenticate": "Bearer"})
                event = build_event(route, self.command, self.path, headers, body, claims,
                                    self.client_address[0], params)
                try:
                    result = invoke(route.function, event)
                except Exception:  # noqa: BLE001 - a crashed function is a 500, as in the cloud
                    log.exception("function %s failed", route.function.logical_id)
                    return self._message(500, "Internal Server Error")
                status, out_headers, out_body, cookies = self._from_result(result)
                self._send(status, out_headers, out_body, cookies)
                log.debug("%s %s -> %s in %.1f ms", self.command, path, status, (time.perf_counter() - started) * 1e3)

            @staticmethod
            def _from_result(result: Any) -> tuple[int, dict[str, str], bytes, list[str]]:
                if not isinstance(result, dict) or "statusCode" not in result:
                    # HTTP API 2.0 infers a 200 JSON response from any other return value.
                    return 200, {"Content-Type": "application/json"}, json.dumps(result).encode(), []
                headers = {k: str(v) for k, v in (result.get("headers") or {}).items()}
                for key, values in (result.get("multiValueHeaders") or {}).items():
                    headers[key] = ",".join(str(v) for v in values)
                raw = result.get("body") or ""
                body = base64.b64decode(raw) if result.get("isBase64Encoded") else raw.encode()
                return int(result["statusCode"]), headers, body, list(result.get("cookies") or [])

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch

        return Handler

    def serve_accepting(self) -> None:
        """Serve a listening socket shared with other processes, with a blocking accept(): Linux hands each new
        connection to the process that has waited longest, so keep-alive clients spread evenly (a select() loop
        in every process would wake them all and let the first scheduled one win)."""
        while self.server.socket.fileno() != -1:
            try:
                request, address = self.server.get_request()
            except OSError as exc:  # a connection reset before it was accepted; or the socket closed
                if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    time.sleep(0.05)  # out of descriptors: let requests in flight finish instead of spinning
                continue
            try:
                self.server.process_request(request, address)  # a thread per connection
            except Exception:  # noqa: BLE001 - e.g. no thread could start: drop this one, keep accepting
                self.server.handle_error(request, address)
                self.server.shutdown_request(request)

    def start(self) -> "Gateway":
        self._thread = threading.Thread(target=self.server.serve_forever, name="gateway", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class GatewayProcesses(ChildProcesses):
    """`billing stack --gateway-processes N`: N processes serving one listening socket, each with its own
    interpreter, function instances, database pool and clients, as concurrent Lambda sandboxes are. The socket is
    bound here (so port 0 and "Address already in use" behave as with one gateway) and inherited by each."""

    def __init__(self, root: Path, count: int, ready_dir: Path, host: str = "127.0.0.1", port: int = 3000) -> None:
        self.listener = socket.create_server((host, port), backlog=_Server.request_queue_size)
        self.port = self.listener.getsockname()[1]
        super().__init__("gateway", "billing.devstack.gateway", [str(root), str(self.listener.fileno())], count,
                         ready_dir, pass_fds=(self.listener.fileno(),), grace=10)

    def start(self, timeout: float = 120) -> "GatewayProcesses":
        try:
            super().start(timeout)
        finally:
            self.listener.close()  # the children hold it: the port is free again once they are gone
        return self


def main(argv: list[str]) -> int:
    """One gateway process: `python -m billing.devstack.gateway ROOT FD READY_FILE`. Its settings (JWT
    verification, endpoints, the functions' environment) come from the environment it inherited from the stack."""
    root, listener, ready = Path(argv[0]), socket.socket(fileno=int(argv[1])), Path(argv[2])
    logging.basicConfig(level=os.environ.get("STACK_LOG_LEVEL", "WARNING"))
    stop = stop_event()
    from billing.config import settings

    from .template import http_routes, load_template

    gateway = Gateway(settings(), http_routes(load_template(root / "template.yaml"), root), listener=listener)
    threading.Thread(target=gateway.serve_accepting, name="gateway", daemon=True).start()
    ready.write_text(str(os.getpid()))
    wait_for_stop(stop)
    return 0  # connections in progress end with the process, as with one gateway's daemon threads


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
