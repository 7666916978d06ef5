"""
Baseline (e) "FastAPI+httpx (Python seed)": the shape of the seeds' Python gateway (seed 003) on its hot path.

- FastAPI, served by uvicorn with 1 worker, no reload, log level warning (the harness runs
  `python -m uvicorn python_gateway:app --workers 1 --log-level warning`);
- one shared httpx.AsyncClient, created in the lifespan (max 200 connections, 100 keep-alive, timeout 60 s);
- a StrictAuth-style dependency on every proxied request: `Authorization: Bearer <jwt>` verified with PyJWT
  (HS256, signature + exp, sub and exp required, company_id required -> 403 otherwise);
- client identity headers dropped, X-User-ID / X-Company-ID / X-User-Email / X-Request-ID injected;
- request body streamed up (request.stream()), response streamed back
  (client.send(stream=True) + StreamingResponse(aiter_raw()) + BackgroundTask(aclose)).

Left out, on purpose (each would only make this baseline slower, so c/e stays conservative): the seed's
per-request PostgreSQL user lookup, its CORS / request-id / timing / structlog middlewares, gunicorn.

Environment: UPSTREAM_URL, JWT_SECRET (required); PORT when run directly (`python python_gateway.py`).
"""
import os
import uuid
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Dict, List, Optional, Tuple

import httpx
import jwt
from fastapi import Depends, FastAPI, Header, HTTPException, Request
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

UPSTREAM_URL = os.environ.get("UPSTREAM_URL", "")
JWT_SECRET = os.environ.get("JWT_SECRET", "")
if not UPSTREAM_URL or not JWT_SECRET:
    raise SystemExit("UPSTREAM_URL and JWT_SECRET are required")

# RFC 9110 §7.6.1 hop-by-hop headers plus host: never forwarded, in either direction.
HOP_BY_HOP = {
    b"connection", b"keep-alive", b"proxy-connection", b"te", b"trailer",
    b"transfer-encoding", b"upgrade", b"host",
}
RESPONSE_HOP_BY_HOP = {name.decode() for name in HOP_BY_HOP}
PROXY_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]


def is_client_identity(name: bytes) -> bool:
    return (
        name in (b"authorization", b"cookie")
        or name.startswith(b"x-user-")
        or name.startswith(b"x-company-")
        or name.startswith(b"x-gateway-")
    )


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.client = httpx.AsyncClient(
        base_url=UPSTREAM_URL,
        timeout=httpx.Timeout(60.0),
        limits=httpx.Limits(max_connections=200, max_keepalive_connections=100),
        follow_redirects=False,
    )
    try:
        yield
    finally:
        await app.state.client.aclose()


app = FastAPI(title="python seed gateway (bench baseline e)", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)


async def strict_auth(authorization: Optional[str] = Header(default=None)) -> Dict[str, Any]:
    """The seed's StrictAuth, minus its PostgreSQL lookup: signature, exp, sub, company_id."""
    if not authorization or not authorization.startswith("Bearer "):
        raise HTTPException(status_code=401, detail="Not authenticated", headers={"WWW-Authenticate": "Bearer"})
    try:
        payload: Dict[str, Any] = jwt.decode(
            authorization[7:],
            JWT_SECRET,
            algorithms=["HS256"],
            leeway=30,
            options={"require": ["sub", "exp"], "verify_aud": False},
        )
    except jwt.PyJWTError:
        raise HTTPException(status_code=401, detail="Token validation failed", headers={"WWW-Authenticate": "Bearer"})
    if not isinstance(payload.get("sub"), str) or not isinstance(payload.get("company_id"), str):
        raise HTTPException(status_code=403, detail="Company association missing")
    return payload


async def proxy(request: Request, user: Dict[str, Any]) -> StreamingResponse:
    client: httpx.AsyncClient = request.app.state.client
    headers: List[Tuple[bytes, bytes]] = [
        (name, value) for name, value in request.headers.raw
        if name not in HOP_BY_HOP and not is_client_identity(name)
    ]
    headers.append((b"x-user-id", user["sub"].encode()))
    headers.append((b"x-company-id", user["company_id"].encode()))
    if isinstance(user.get("email"), str):
        headers.append((b"x-user-email", user["email"].encode()))
    headers.append((b"x-request-id", str(uuid.uuid4()).encode()))

    has_body = "transfer-encoding" in request.headers or request.headers.get("content-length", "0") != "0"
    upstream_request = client.build_request(
        request.method,
        httpx.URL(path=request.url.path, query=request.url.query.encode()),
        headers=headers,
        content=request.stream() if has_body else None,
    )
    try:
        upstream = await client.send(upstream_request, stream=True)
    except httpx.RequestError:
        raise HTTPException(status_code=502, detail="Error communicating with upstream service.")
    response_headers = {
        name: value for name, value in upstream.headers.items() if name.lower() not in RESPONSE_HOP_BY_HOP
    }
    return StreamingResponse(
        upstream.aiter_raw(),
        status_code=upstream.status_code,
        headers=response_headers,
        background=BackgroundTask(upstream.aclose),
    )


@app.api_route("/api/v1/ingest/{endpoint_path:path}", methods=PROXY_METHODS)
async def ingest(request: Request, endpoint_path: str, user: Dict[str, Any] = Depends(strict_auth)) -> StreamingResponse:
    return await proxy(request, user)


@app.api_route("/api/v1/query/{endpoint_path:path}", methods=PROXY_METHODS)
async def query(request: Request, endpoint_path: str, user: Dict[str, Any] = Depends(strict_auth)) -> StreamingResponse:
    return await proxy(request, user)


@app.get("/health")
async def health() -> Dict[str, str]:
    return {"status": "healthy", "service": "python seed gateway (bench baseline e)"}


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=int(os.environ.get("PORT", "8080")), workers=1, reload=False, log_level="warning")
