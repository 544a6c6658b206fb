# medshare inference: the only image that carries PyTorch (CPU build by default).
FROM python:3.11-slim AS build
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
WORKDIR /src
COPY shared/ shared/
COPY services/inference/ services/inference/
RUN python -m venv /opt/medshare \
 && /opt/medshare/bin/pip install --no-cache-dir --index-url "$TORCH_INDEX_URL" torch \
 && /opt/medshare/bin/pip install --no-cache-dir ./shared ./services/inference

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
ENTRYPOINT ["medshare", "inference", "serve"]
