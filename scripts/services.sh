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

# MariaDB on 127.0.0.1:3306 for the Coppermine and Piwigo importers' tests. Exports
# KEEPSAKE_TEST_MYSQL, the admin URL tests create their databases with (root, no password, or
# the password set here when the server asks for one over TCP).
ensure_mariadb() {
  export KEEPSAKE_TEST_MYSQL="${KEEPSAKE_TEST_MYSQL:-mysql://root@127.0.0.1:3306}"
  if [ ! -x /usr/sbin/mariadbd ] || ! command -v mariadb >/dev/null; then
    echo "installing MariaDB…" >&2
    apt_install mariadb-server mariadb-client
  fi
  if ! mariadb-admin --protocol=tcp -h 127.0.0.1 -P 3306 -u root --connect-timeout=2 ping >/dev/null 2>&1 \
    && ! mariadb-admin --protocol=socket -u root --connect-timeout=2 ping >/dev/null 2>&1; then
    echo "starting MariaDB…" >&2
    as_root install -d -o mysql -g mysql /run/mysqld
    if [ ! -d /var/lib/mysql/mysql ]; then
      as_root mariadb-install-db --user=mysql --datadir=/var/lib/mysql >/dev/null
    fi
    as_root start-stop-daemon --start --oknodo --background --chuid mysql \
      --exec /usr/sbin/mariadbd -- --user=mysql --bind-address=127.0.0.1 --port=3306
    for _ in $(seq 1 30); do
      mariadb-admin --protocol=socket -u root --connect-timeout=2 ping >/dev/null 2>&1 && break
      sleep 1
    done
  fi
  mariadb-admin --protocol=socket -u root --connect-timeout=2 ping >/dev/null 2>&1 \
    || mariadb-admin --protocol=tcp -h 127.0.0.1 -P 3306 -u root ping >/dev/null 2>&1 \
    || { echo "MariaDB did not start" >&2; return 1; }
  local plain="mysql://root@127.0.0.1:3306"
  if [ "$KEEPSAKE_TEST_MYSQL" = "$plain" ] \
    && ! mariadb --protocol=tcp -h 127.0.0.1 -P 3306 -u root -e 'SELECT 1' >/dev/null 2>&1; then
    # Debian's root logs in by socket only: let it in over TCP from 127.0.0.1 with a password.
    echo "letting root log in to MariaDB over TCP…" >&2
    as_root mariadb --protocol=socket -u root -e \
      "ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket
         OR mysql_native_password USING PASSWORD('keepsake');
       CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY 'keepsake';
       ALTER USER 'root'@'127.0.0.1' IDENTIFIED BY 'keepsake';
       GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;" >/dev/null
    export KEEPSAKE_TEST_MYSQL="mysql://root:keepsake@127.0.0.1:3306"
    mariadb --protocol=tcp -h 127.0.0.1 -P 3306 -u root -pkeepsake -e 'SELECT 1' >/dev/null \
      || { echo "cannot log in to MariaDB at 127.0.0.1:3306 as root" >&2; return 1; }
  fi
}

# Debian's Chromium for the browser checks.
# curl: the README's API example is run as written (tests/integration/cli/readme.rs).
ensure_curl() {
  command -v curl >/dev/null || apt_install curl
}

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

# Java (the Nu HTML checker runs on it) and the quality checks' packages: Lighthouse, which
# drives the system Chromium, and vnu-jar.
ensure_quality_deps() {
  if ! command -v java >/dev/null; then
    echo "installing Java…" >&2
    apt_install default-jre-headless
  fi
  ensure_browser_deps
  if [ ! -d tests/quality/node_modules/lighthouse ] || [ ! -d tests/quality/node_modules/vnu-jar ]; then
    (cd tests/quality && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

# Python's aiosmtpd: the real SMTP server the mail tests deliver to.
ensure_smtp_sink() {
  if ! python3 -c 'import aiosmtpd' 2>/dev/null; then
    echo "installing aiosmtpd…" >&2
    python3 -m pip install --quiet aiosmtpd || { echo "cannot install aiosmtpd" >&2; return 1; }
  fi
}

ensure_schemathesis() {
  if ! command -v schemathesis >/dev/null 2>&1; then
    echo "installing schemathesis…" >&2
    python3 -m pip install --quiet 'schemathesis>=4,<5' || { echo "cannot install schemathesis" >&2; return 1; }
  fi
}

# Starts `cms serve --demo` on a free loopback port in a throwaway folder. Sets
# demo_dir, demo_pid and KEEPSAKE_URL (plus the demo admin's login); the caller removes the
# folder and stops the server (see stop_demo). Extra arguments go to `serve`; CMS_* settings
# can be given in the environment as usual.
# Runs a command with the demo's database: DEMO_DATABASE_URL when set (PostgreSQL), else the
# SQLite file in the current folder.
demo_env() {
  # --exec: the command replaces the calling (sub)shell, so its pid is the server's.
  local run=()
  if [ "${1:-}" = "--exec" ]; then
    run=(exec)
    shift
  fi
  if [ -n "${DEMO_DATABASE_URL:-}" ]; then
    "${run[@]}" env CMS_DATABASE_URL="$DEMO_DATABASE_URL" CMS_LOG=warn "$@"
  else
    "${run[@]}" env -u CMS_DATABASE_URL CMS_LOG=warn "$@"
  fi
}

start_demo() {
  local target bin
  # The binary the caller names (scripts/test: the release one it built), else a debug build.
  if [ -n "${KEEPSAKE_CMS_BIN:-}" ]; then
    bin="$KEEPSAKE_CMS_BIN"
  else
    target="${CARGO_TARGET_DIR:-target}"
    cargo build --locked --quiet --bin cms
    bin="$(cd "$target" && pwd)/debug/cms"
  fi
  demo_bin="$bin"
  demo_dir=$(mktemp -d)
  # The subshell becomes the server (exec), so stop_demo's kill reaches it: a server left
  # running by every test run would pile up on the machine.
  (cd "$demo_dir" && demo_env --exec "$bin" serve --demo --bind 127.0.0.1:0 "$@" >"$demo_dir/out.log" 2>"$demo_dir/err.log") &
  demo_pid=$!
  KEEPSAKE_URL=""
  for _ in $(seq 1 120); do
    KEEPSAKE_URL=$(sed -n 's/^Serving on \(http:\/\/.*\)$/\1/p' "$demo_dir/out.log" | head -n 1)
    [ -n "$KEEPSAKE_URL" ] && break
    kill -0 "$demo_pid" 2>/dev/null || { cat "$demo_dir/err.log" >&2; echo "the demo server exited" >&2; return 1; }
    sleep 0.5
  done
  [ -n "$KEEPSAKE_URL" ] || { cat "$demo_dir/err.log" >&2; echo "the demo server did not start" >&2; return 1; }
  export KEEPSAKE_URL
  KEEPSAKE_ADMIN_EMAIL=$(sed -n 's/^Admin login: .* email: \([^ ]*\) .*$/\1/p' "$demo_dir/out.log")
  KEEPSAKE_ADMIN_PASSWORD=$(sed -n 's/^Admin login: .* password: \(.*\)$/\1/p' "$demo_dir/out.log")
  export KEEPSAKE_ADMIN_EMAIL KEEPSAKE_ADMIN_PASSWORD
}

stop_demo() {
  [ -n "${demo_pid:-}" ] && kill "$demo_pid" 2>/dev/null
  wait 2>/dev/null
  [ -n "${demo_dir:-}" ] && rm -rf "$demo_dir"
  return 0
}

# Garage, the S3-compatible object store the media tests write to. Built once with cargo into a
# folder outside the clone, keyed by version (a cold machine builds it: about 9 minutes on 2
# cores); exports KEEPSAKE_GARAGE_BIN. The tests start their own throw-away servers with it.
GARAGE_VERSION=2.5.0
ensure_garage() {
  local root="${KEEPSAKE_TOOLS_CACHE:-$HOME/.cache/keepsake-tools}/garage-$GARAGE_VERSION"
  if [ ! -x "$root/bin/garage" ]; then
    echo "building Garage $GARAGE_VERSION (once; kept in $root)…" >&2
    # Its own target folder: the build must not disturb the project's.
    CARGO_TARGET_DIR="$root.build" cargo install garage --version "=$GARAGE_VERSION" --locked \
      --root "$root.partial" --quiet \
      || { echo "cannot build Garage $GARAGE_VERSION" >&2; return 1; }
    rm -rf "$root" && mv "$root.partial" "$root" && rm -rf "$root.build"
  fi
  export KEEPSAKE_GARAGE_BIN="$root/bin/garage"
}

# Debian's nginx, the load balancer in front of several nodes (tests) and the reference the
# benchmarks compare with.
ensure_nginx() {
  if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
    echo "installing nginx…" >&2
    apt_install nginx
  fi
  export KEEPSAKE_NGINX_BIN="$(command -v nginx || echo /usr/sbin/nginx)"
}

# systemd-analyze: the tests check deploy/keepsake.service with it.
ensure_systemd_analyze() {
  command -v systemd-analyze >/dev/null || apt_install systemd
}
