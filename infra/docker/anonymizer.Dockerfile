# medshare anonymizer: the shared library and this service only (PyTorch lives in the inference image alone).
FROM python:3.11-slim AS build
WORKDIR /src
COPY shared/ shared/
COPY services/anonymizer/ services/anonymizer/
RUN python -m venv /opt/medshare \
 && /opt/medshare/bin/pip install --no-cache-dir ./shared ./services/anonymizer

FROM python:3.11-slim
# OpenCV (pulled in by the OCR engine, rapidocr) loads libGL and GLib even headless.
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends libgl1 libglib2.0-0 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 medshare
COPY --from=build /opt/medshare /opt/medshare
ENV PATH=/opt/medshare/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    MEDSHARE_HTTP_HOST=0.0.0.0 \
    MEDSHARE_SECRETS_DIR=/run/secrets
USER medshare
HEALTHCHECK --interval=10s --timeout=3s --retries=6 \
  CMD python -c "import os,urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/readyz' % os.environ.get('MEDSHARE_HTTP_PORT','8080'), timeout=2)"
ENTRYPOINT ["medshare", "anonymizer", "serve"]
