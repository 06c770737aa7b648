"""HTTP authentication: the Bearer scheme name is case-insensitive (RFC 9110, section 11.1)."""

from __future__ import annotations

import http.client
import json

import pytest

from server_harness import spouge_server

SECRET = "s3cret-Token"


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER", "bEaReR"])
def test_bearer_scheme_is_case_insensitive(scheme):
    with spouge_server("--jobs", "0", "--requirepass", SECRET) as server:
        c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        c.request("GET", "/v1/factorial?x=5&digits=3", headers={"Authorization": f"{scheme} {SECRET}"})
        r = c.getresponse()
        assert r.status == 200 and json.loads(r.read())["value"] == "1.20e+2"
        c.close()


@pytest.mark.parametrize("header",
                         [f"Basic {SECRET}", f"Bearer {SECRET.lower()}", f"Bearer{SECRET}", "Bearer", f"{SECRET}"])
def test_other_schemes_and_wrong_tokens_are_refused(header):
    """The scheme is case-insensitive; the token is not."""
    with spouge_server("--jobs", "0", "--requirepass", SECRET) as server:
        c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        c.request("GET", "/v1/factorial?x=5&digits=3", headers={"Authorization": header})
        assert c.getresponse().status == 401
        c.close()
