#!/usr/bin/env bash
# Debian packages the test suite drives as real peers: dcmtk's storescu (a PACS
# pushing over DICOM C-STORE), Chromium with its driver (the catalog page's
# browser test), dicom3tools' dciodvfy (judges every de-identified output valid) and
# tesseract (a second OCR engine that judges released pixels; libgl1 is what OpenCV
# loads for the anonymizer's own OCR). Installed only when missing, so later runs cost nothing.
set -euo pipefail
PACKAGES=(dcmtk chromium chromium-driver dicom3tools tesseract-ocr tesseract-ocr-eng libgl1)
missing=()
for package in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then SUDO=sudo; else
    echo "missing Debian packages: ${missing[*]} (run as root or install them)" >&2; exit 1
  fi
fi
echo "installing Debian packages: ${missing[*]}"
${SUDO:-} apt-get update -qq
DEBIAN_FRONTEND=noninteractive ${SUDO:-} apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
