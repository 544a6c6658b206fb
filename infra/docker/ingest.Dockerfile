# medshare ingest: the shared library and this service only (PyTorch lives in the inference image alone).
FROM python:3.11-slim AS build
WORKDIR /src
COPY shared/ shared/
COPY services/ingest/ services/ingest/
RUN python -m venv /opt/medshare \
 && /opt/medshare/bin/pip install --no-cache-dir ./shared ./services/ingest

FROM python:3.11-slim
RUN useradd --system --uid 10001 medshare
COPY --from=build /opt/medshare /opt/medshare
ENV PATH=/opt/medshare/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    MEDSHARE_HTTP_HOST=0.0.0.0 \
    MEDSHARE_SECRETS_DIR=/run/secrets
USER medshare
HEALTHCHECK --interval=10s --timeout=3s --retries=6 \
  CMD python -c "import os,urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/readyz' % os.environ.get('MEDSHARE_HTTP_PORT','8080'), timeout=2)"
ENTRYPOINT ["medshare", "ingest", "serve"]
