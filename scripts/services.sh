# Helpers that make sure the services the tests talk to are installed and running.
# Sourced by scripts/test and .ci/run; each function fails loudly when it cannot succeed.

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "need root to run: $*" >&2; return 1; fi
}

apt_install() {
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >/dev/null \
    || { as_root apt-get update >/dev/null && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >/dev/null; }
}

# PostgreSQL on 127.0.0.1:5432. Exports KEEPSAKE_TEST_PG, the admin URL tests create their
# databases with.
ensure_postgres() {
  export KEEPSAKE_TEST_PG="${KEEPSAKE_TEST_PG:-postgres://postgres@127.0.0.1:5432/postgres}"
  if ! command -v pg_ctlcluster >/dev/null && ! command -v pg_isready >/dev/null; then
    echo "installing PostgreSQL…" >&2
    apt_install postgresql postgresql-client
  fi
  if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    echo "starting PostgreSQL…" >&2
    local version
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  fi
  pg_isready -q -h 127.0.0.1 -p 5432 || { echo "PostgreSQL did not start on 127.0.0.1:5432" >&2; return 1; }
  if ! psql "$KEEPSAKE_TEST_PG" -Atc 'SELECT 1' >/dev/null 2>&1; then
    # A stock Debian install asks for a password on TCP: give the postgres role one.
    echo "setting a password for the postgres role…" >&2
    as_root su postgres -c "psql -qc \"ALTER ROLE postgres PASSWORD 'keepsake'\"" >/dev/null
    export KEEPSAKE_TEST_PG="postgres://postgres:keepsake@127.0.0.1:5432/postgres"
    psql "$KEEPSAKE_TEST_PG" -Atc 'SELECT 1' >/dev/null \
      || { echo "cannot log in to PostgreSQL at 127.0.0.1:5432 as postgres" >&2; return 1; }
  fi
}

# Debian's Chromium for the browser checks.
ensure_chromium() {
  export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
  if [ ! -x "$CHROMIUM" ]; then
    echo "installing Chromium…" >&2
    apt_install chromium chromium-driver
  fi
  [ -x "$CHROMIUM" ] || { echo "Chromium is not at $CHROMIUM" >&2; return 1; }
}

# Node.js and the browser checks' one dependency (playwright-core, which drives the system
# Chromium and downloads no browser of its own).
ensure_browser_deps() {
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "installing Node.js…" >&2
    apt_install nodejs npm
  fi
  if [ ! -d tests/browser/node_modules/playwright-core ]; then
    (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

# Python's aiosmtpd: the real SMTP server the mail tests deliver to.
ensure_smtp_sink() {
  if ! python3 -c 'import aiosmtpd' 2>/dev/null; then
    echo "installing aiosmtpd…" >&2
    python3 -m pip install --quiet aiosmtpd || { echo "cannot install aiosmtpd" >&2; return 1; }
  fi
}
