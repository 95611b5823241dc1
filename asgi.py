"""The console as an ASGI app with a QuickBooks webhook endpoint: `streamlit run asgi.py` (or uvicorn asgi:app)."""

from __future__ import annotations

from functools import lru_cache

import streamlit as st
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from qbcore.config import load_config
from qbcore.db import make_engine, make_session_factory, migrate
from qbcore.webhooks import SIGNATURE_HEADER, handle_notification

WEBHOOK_PATH = "/webhooks/quickbooks"
MAX_BODY = 1_000_000


@lru_cache(maxsize=1)
def _factory() -> sessionmaker[Session]:
    # Opened on the first notification, not at import: nothing connects at import time.
    engine = make_engine(load_config().database_url)
    migrate(engine)
    return make_session_factory(engine)


async def quickbooks_webhook(request: Request) -> JSONResponse:
    """Verify intuit-signature over the raw body and queue a pull; answers in milliseconds."""
    body = await request.body()
    if len(body) > MAX_BODY:
        return JSONResponse({"error": "too large"}, status_code=413)
    result = await run_in_threadpool(handle_notification, _factory(), body, request.headers.get(SIGNATURE_HEADER),
                                     token=load_config().webhook_verifier or None)
    return JSONResponse({"message": result.message, "job_id": result.job_id}, status_code=result.status)


routes = [Route(WEBHOOK_PATH, quickbooks_webhook, methods=["POST"])]
app = st.App("Home.py", routes=routes)
