"""A small reverse proxy in front of the AWS emulator that answers named operations with a
throttling error a given number of times, in each protocol's own error shape, so botocore's
retry logic sees exactly what real AWS sends. Told what to fail by `POST /__throttle__`
{"operation": "CreateHostedZone", "times": 2}; `GET /__throttle__` returns how many it served.
Stdlib only, so a subprocess under test can be pointed at it as well.
"""

from __future__ import annotations

import http.client
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

# REST-XML operations recognised by method and path (Route 53 and S3 carry no operation name).
REST_OPERATIONS = [
    ("POST", re.compile(r"^/2013-04-01/hostedzone$"), "CreateHostedZone"),
    ("POST", re.compile(r"^/2013-04-01/hostedzone/[^/]+/rrset/?$"), "ChangeResourceRecordSets"),
    ("GET", re.compile(r"^/2013-04-01/hostedzone/[^/]+$"), "GetHostedZone"),
    ("PUT", re.compile(r"^/[^/?]+\?tagging"), "PutBucketTagging"),
    ("PUT", re.compile(r"^/[^/?]+/?$"), "CreateBucket"),
]


def operation_of(method: str, path: str, headers: dict[str, str], body: bytes) -> str:
    target = headers.get("x-amz-target", "")
    if target:
        return target.rsplit(".", 1)[-1]
    if method == "POST" and body.startswith(b"Action="):
        return parse_qs(body.decode()).get("Action", [""])[0]
    for verb, pattern, name in REST_OPERATIONS:
        if verb == method and pattern.match(path):
            return name
    return ""


def throttle_response(headers: dict[str, str], path: str) -> tuple[int, str, bytes]:
    if "x-amz-target" in headers:
        return 400, "application/x-amz-json-1.1", json.dumps(
            {"__type": "ThrottlingException", "message": "Rate exceeded"}).encode()
    form = headers.get("content-type", "").startswith("application/x-www-form-urlencoded")
    if path.startswith("/2013-04-01/") or form:
        return 400, "text/xml", (
            b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>"
            b"<Message>Rate exceeded</Message></Error><RequestId>x</RequestId></ErrorResponse>")
    return 503, "application/xml", (b"<Error><Code>SlowDown</Code><Message>Please reduce your "
                                    b"request rate.</Message></Error>")


class ThrottleProxy:
    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.plan: dict[str, int] = {}
        self.served: dict[str, int] = {}
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: object) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                if self.path == "/__throttle__":
                    self._control(body)
                    return
                operation = operation_of(self.command, self.path, headers, body)
                with proxy.lock:
                    left = proxy.plan.get(operation, 0)
                    if left:
                        proxy.plan[operation] = left - 1
                        proxy.served[operation] = proxy.served.get(operation, 0) + 1
                if left:
                    status, kind, payload = throttle_response(headers, self.path)
                    self._send(status, {"Content-Type": kind}, payload)
                    return
                conn = http.client.HTTPConnection(*proxy.upstream, timeout=60)
                conn.request(self.command, self.path, body=body, headers={
                    k: v for k, v in self.headers.items() if k.lower() != "connection"})
                response = conn.getresponse()
                payload = response.read()
                passed = {k: v for k, v in response.getheaders()
                          if k.lower() not in ("transfer-encoding", "connection",
                                               "content-length")}
                conn.close()
                self._send(response.status, passed, payload)

            def _control(self, body: bytes) -> None:
                if self.command == "POST":
                    order = json.loads(body)
                    with proxy.lock:
                        proxy.plan[order["operation"]] = int(order["times"])
                with proxy.lock:
                    payload = json.dumps({"served": proxy.served, "left": proxy.plan}).encode()
                self._send(200, {"Content-Type": "application/json"}, payload)

            def _send(self, status: int, headers: dict[str, str], payload: bytes) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> ThrottleProxy:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fail(self, operation: str, times: int) -> None:
        with self.lock:
            self.plan[operation] = times
