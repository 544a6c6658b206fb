#!/usr/bin/env sh
# Writes the deployment's secrets into ./secrets (gitignored), once.
# Existing files are kept: rotating a key is a deliberate act, not a side effect.
set -eu
cd "$(dirname "$0")/../.."
mkdir -p secrets
chmod 700 secrets
make_secret() {
  [ -s "secrets/$1" ] || { python3 -c "import secrets; print(secrets.token_hex($2))" > "secrets/$1"; chmod 600 "secrets/$1"; echo "wrote secrets/$1"; }
}
make_secret s3_access_key 8
make_secret s3_secret_key 24
# One S3 key per service (minio-init gives each its own policy).
for service in ingest anonymizer inference catalog; do
  make_secret "s3_${service}_access_key" 8
  make_secret "s3_${service}_secret_key" 24
done
make_secret anonymizer_secret 32
make_secret catalog_jwt_secret 32
if [ ! -s secrets/ingest_api_keys.json ]; then
  key=$(python3 -c "import secrets; print(secrets.token_urlsafe(24))")
  python3 - "$key" > secrets/ingest_api_keys.json <<'PY'
import hashlib, json, sys
print(json.dumps({hashlib.sha256(sys.argv[1].encode()).hexdigest(): "demo-hospital"}))
PY
  chmod 600 secrets/ingest_api_keys.json
  echo "wrote secrets/ingest_api_keys.json; the API key for institution demo-hospital is: $key"
fi
