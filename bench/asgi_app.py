"""The uvicorn peer for bench/server.py: a minimal ASGI app serving /v1/factorial from an lru_cache.

    uvicorn bench.asgi_app:app --loop uvloop --http httptools --port PORT --log-level warning
"""

import json
from functools import lru_cache
from urllib.parse import parse_qs

import spouge


@lru_cache(maxsize=10000)
def answer(x: str, digits: int) -> bytes:
    return json.dumps(spouge.factorial(x, digits=digits).as_dict()).encode()


async def app(scope, receive, send):
    query = parse_qs(scope["query_string"].decode())
    body = answer(query.get("x", ["20"])[0], int(query.get("digits", ["16"])[0]))
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})
