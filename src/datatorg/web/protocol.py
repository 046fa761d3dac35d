"""uvicorn's HTTP protocol, answering unreadable requests in problem+json.

uvicorn answers a request it cannot parse (a request line or headers over its 64 KiB limit,
malformed HTTP) itself, before the app sees it, with a plain-text 400. ``ProblemHttpTools``
gives the same answer as an RFC 9457 problem document, like every other error of the API.
``datatorg serve`` uses it.
"""

from __future__ import annotations

import json

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

PROBLEM = json.dumps(
    {
        "type": "https://datatorg.halden.kommune.no/problems/bad-request",
        "title": "Bad request",
        "status": 400,
        "detail": "The request could not be read: malformed, or its address or headers are "
        "longer than 64 KiB. Send long queries as fewer or shorter parameters.",
    }
).encode()


class ProblemHttpTools(HttpToolsProtocol):
    def send_400_response(self, msg: str) -> None:
        content = [STATUS_LINE[400]]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend(
            [
                b"content-type: application/problem+json\r\n",
                b"content-length: " + str(len(PROBLEM)).encode("ascii") + b"\r\n",
                b"connection: close\r\n",
                b"\r\n",
                PROBLEM,
            ]
        )
        self.transport.write(b"".join(content))
        self.transport.close()
