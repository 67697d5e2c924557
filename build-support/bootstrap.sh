#!/usr/bin/env bash
# Installs what ./pants needs from PyPI alone: a Python 3.9 venv holding Pants 2.17.1, and the
# pex tool rebuilt from PyPI (Pants would otherwise download it from GitHub). Writes the machine-local
# settings to .pants.rc (git-ignored). Idempotent: a second run only checks a stamp file.
set -euo pipefail

PANTS_VERSION="2.17.1"
PEX_VERSION="2.1.137"   # the pex version Pants 2.17.1 expects
buildroot="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache_dir="${RISKLOOP_BOOTSTRAP_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/riskloop-bootstrap}"
venv="$cache_dir/pants-$PANTS_VERSION"
pex_file="$buildroot/.pants-bootstrap/pex-$PEX_VERSION"
stamp="$buildroot/.pants-bootstrap/stamp-$PANTS_VERSION-$PEX_VERSION"

log() { printf '[bootstrap] %s\n' "$*" >&2; }

if [[ -f "$stamp" && -x "$venv/bin/pants" && -f "$pex_file" && -f "$buildroot/.pants.rc" ]]; then
  exit 0
fi

# pip reads the machine-wide pip config even under --isolated; its constraint file and find-links
# break pex's resolver, so every pip/pex we run ignores it. The CA bundle it gave comes from PIP_CERT.
export PIP_CONFIG_FILE=/dev/null
ca_bundle="${PIP_CERT:-${SSL_CERT_FILE:-${REQUESTS_CA_BUNDLE:-}}}"
if [[ -z "$ca_bundle" ]]; then
  for candidate in /etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt; do
    [[ -f "$candidate" ]] && ca_bundle="$candidate" && break
  done
fi

find_python39() {
  # Shims may exist without a working interpreter: probe each candidate by running it.
  local candidates=()
  if command -v pyenv >/dev/null 2>&1; then
    candidates+=("$(pyenv root)"/versions/3.9.*/bin/python3.9)
  fi
  candidates+=("$HOME"/.pyenv/versions/3.9.*/bin/python3.9 /usr/bin/python3.9 /usr/local/bin/python3.9)
  if command -v python3.9 >/dev/null 2>&1; then candidates+=("$(command -v python3.9)"); fi
  local py
  for py in "${candidates[@]}"; do
    if [[ -x "$py" ]] && "$py" -c 'import sys, venv; assert sys.version_info[:2] == (3, 9)' >/dev/null 2>&1; then
      echo "$py"; return 0
    fi
  done
  return 1
}

if [[ ! -x "$venv/bin/pants" ]]; then
  py39="$(find_python39)" || {
    log "Pants $PANTS_VERSION needs CPython 3.9 and none was found."
    log "Install one (e.g. 'pyenv install 3.9' or your OS package python3.9) and re-run."
    exit 1
  }
  log "creating Pants $PANTS_VERSION venv with $py39 in $venv"
  rm -rf "$venv"
  "$py39" -m venv "$venv"
  pip_args=(--quiet --disable-pip-version-check)
  [[ -n "$ca_bundle" ]] && pip_args+=(--cert "$ca_bundle")
  "$venv/bin/pip" install "${pip_args[@]}" "pantsbuild.pants==$PANTS_VERSION" "pex==$PEX_VERSION"
fi

mkdir -p "$buildroot/.pants-bootstrap"
if [[ ! -f "$pex_file" ]]; then
  log "building pex $PEX_VERSION from PyPI into $pex_file"
  pex_args=()
  [[ -n "$ca_bundle" ]] && pex_args+=(--cert "$ca_bundle")
  # Without --no-strip-pex-env the tool ignores the PEX_ROOT Pants hands it.
  "$venv/bin/pex" "${pex_args[@]}" "pex==$PEX_VERSION" -c pex --no-strip-pex-env -o "$pex_file.tmp"
  mv "$pex_file.tmp" "$pex_file"
fi

pex_sha="$(sha256sum "$pex_file" | cut -d' ' -f1)"
pex_size="$(stat -c %s "$pex_file")"
{
  echo "# Written by build-support/bootstrap.sh: machine-local, git-ignored."
  echo "[GLOBAL]"
  [[ -n "$ca_bundle" ]] && echo "ca_certs_path = \"$ca_bundle\""
  echo
  echo "[pex-cli]"
  echo "version = \"v$PEX_VERSION\""
  echo "url_template = \"file://$pex_file\""
  echo "known_versions = [\"v$PEX_VERSION|linux_x86_64|$pex_sha|$pex_size\", \"v$PEX_VERSION|linux_arm64|$pex_sha|$pex_size\", \"v$PEX_VERSION|macos_x86_64|$pex_sha|$pex_size\", \"v$PEX_VERSION|macos_arm64|$pex_sha|$pex_size\"]"
} > "$buildroot/.pants.rc"

touch "$stamp"
log "done: Pants $PANTS_VERSION ready"
