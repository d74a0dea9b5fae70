# pg-lib.sh - a private, throw-away PostgreSQL server for tests.
#
# POSIX sh; source it:   . tests/e2e/pg-lib.sh
#
# The server lives in one mktemp directory: its data directory, its unix
# socket and its log. It listens on no TCP port (listen_addresses = ''), so
# parallel runs cannot clash; the "port" only names the socket file
# (.s.PGSQL.PORT), and each run picks its own anyway. Authentication is
# "trust": only processes that can reach the socket directory connect.
# It never touches the system's cluster (/etc/postgresql, /var/lib/postgresql).
# fsync and full_page_writes are off: a test server need not survive a power
# cut, and this makes commits cheap on a loaded machine. synchronous_commit
# stays on: a commit is in the kernel before the client hears of it, so a
# crashed or killed server (pg_down) loses nothing that was committed.
#
# initdb and postgres refuse to run as root: as root the server runs as the
# "postgres" system user (the postgresql package creates it), else "nobody";
# PG_OS_USER overrides. As another user it runs as that user.
#
# Typical use:
#
#   . tests/e2e/pg-lib.sh
#   trap 'pg_stop' EXIT           # pg_stop also removes the directory
#   pg_start || exit 1            # initdb, start, wait, create role+db "shadowmilter"
#   echo "$PG_URI"                # postgresql:///shadowmilter?host=/tmp/sm-pg.X/sock&port=N&user=shadowmilter
#   printf 'StateDB %s\n' "$PG_URI" >>my.conf
#   pg_psql -c 'select count(*) from notices'      # as the superuser, in PG_DB
#   URI2=$(pg_createdb other)     # another database (and role "other"); prints its URI
#   pg_down; pg_up                # the server dies (immediate stop) and comes back, same data/URI
#   pg_stop
#
# Or run one command with a fresh server (tests/e2e/with-pg.sh CMD ARGS...),
# which exports PG_URI and SM_TEST_PG_URI to CMD.
#
# Knobs, read by pg_start:
#   PG_OS_USER     the system user that owns and runs the server (see above)
#   PG_BINDIR      where initdb/pg_ctl/postgres are (default: the newest
#                  /usr/lib/postgresql/*/bin, or pg_config --bindir, or PATH)
#   PG_DBNAME      the database (and role) pg_start creates (default shadowmilter)
#   PG_EXTRA_CONF  extra postgresql.conf lines, appended last
#   PG_KEEP        non-empty: pg_stop leaves the directory (to read the log)
#
# Variables set by pg_start:
#   PG_DIR      the directory (world-searchable)  PG_DATA  $PG_DIR/data
#   PG_SOCKDIR  $PG_DIR/sock (the unix socket)    PG_PORT  the socket's port number
#   PG_LOG      $PG_DIR/postgres.log              PG_SUPERUSER  postgres
#   PG_DB       the database created             PG_ROLE  its owner (a LOGIN role, not superuser)
#   PG_URI      libpq URI for PG_DB as PG_ROLE (exported)
#
# Functions: pg_start pg_stop pg_up pg_down pg_ready pg_wait_ready pg_psql
#   pg_createdb pg_uri pg_pid pg_alive
# Every function returns non-zero on failure and writes its complaint to stderr.

pg__err() { echo "pg-lib: $*" >&2; }

# pg__bindir - the directory with initdb, pg_ctl and postgres
pg__bindir() {
	if [ -n "${PG_BINDIR:-}" ]; then
		echo "$PG_BINDIR"
		return 0
	fi
	# Debian: /usr/lib/postgresql/<major>/bin; take the highest major installed
	_pg_d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4,4n | tail -n 1)
	if [ -n "$_pg_d" ] && [ -x "$_pg_d/initdb" ]; then
		echo "$_pg_d"
		return 0
	fi
	if command -v pg_config >/dev/null 2>&1; then
		_pg_d=$(pg_config --bindir 2>/dev/null)
		[ -x "$_pg_d/initdb" ] && { echo "$_pg_d"; return 0; }
	fi
	_pg_d=$(command -v initdb 2>/dev/null) && { dirname "$_pg_d"; return 0; }
	pg__err "no PostgreSQL server binaries (initdb): install the postgresql package (make deps)"
	return 1
}

# pg__as_owner CMD ARGS... - run CMD as the server's owner, from PG_DIR
pg__as_owner() {
	if [ "$(id -u)" = 0 ]; then
		if command -v runuser >/dev/null 2>&1; then
			(cd "$PG_DIR" && runuser -u "$PG_OS_USER" -- "$@")
		else
			# su needs one command string: quote each argument
			_pg_cmd=
			for _pg_a in "$@"; do
				_pg_cmd="$_pg_cmd '$(printf '%s' "$_pg_a" | sed "s/'/'\\\\''/g")'"
			done
			(cd "$PG_DIR" && su -s /bin/sh "$PG_OS_USER" -c "$_pg_cmd")
		fi
	else
		(cd "$PG_DIR" && "$@")
	fi
}

# pg__pick_port - a socket port number not used by another server of this
# machine in /tmp or /run/postgresql (only cosmetic: the socket directory is ours)
pg__pick_port() {
	_pg_p=$((40000 + ($$ * 53 + $(date +%N 2>/dev/null | sed 's/^0*//;s/^$/0/') % 997) % 20000))
	_pg_n=0
	while [ -e "/tmp/.s.PGSQL.$_pg_p" ] || [ -e "/run/postgresql/.s.PGSQL.$_pg_p" ]; do
		_pg_p=$((_pg_p + 1))
		_pg_n=$((_pg_n + 1))
		[ "$_pg_n" -lt 1000 ] || break
	done
	echo "$_pg_p"
}

# pg_uri DB [ROLE] - the libpq URI for DB as ROLE (default: DB's name) on this server
pg_uri() {
	echo "postgresql:///$1?host=$PG_SOCKDIR&port=$PG_PORT&user=${2:-$1}"
}

# pg_ready - true if the server accepts connections and answers a query
pg_ready() {
	[ -n "${PG_SOCKDIR:-}" ] || return 1
	"$PG_BIN/pg_isready" -q -h "$PG_SOCKDIR" -p "$PG_PORT" -U "$PG_SUPERUSER" -d postgres -t 5 2>/dev/null || return 1
	[ "$(pg__psql_raw postgres -Atc 'select 1' 2>/dev/null)" = 1 ]
}

# pg_wait_ready [TIMEOUT] - wait (default 60 s) until pg_ready
pg_wait_ready() {
	_pg_n=0
	_pg_lim=$((${1:-60} * 5))
	until pg_ready; do
		_pg_n=$((_pg_n + 1))
		if [ "$_pg_n" -ge "$_pg_lim" ]; then
			pg__err "timeout: server in $PG_DIR not ready; its log:"
			tail -n 20 "$PG_LOG" >&2 2>/dev/null
			return 1
		fi
		if ! pg_alive; then
			# not running and no start in progress: say so now rather than at the timeout
			[ -n "$(pg_pid)" ] || [ "$_pg_n" -lt 25 ] || { pg__err "server in $PG_DIR is not running; its log:"; tail -n 20 "$PG_LOG" >&2 2>/dev/null; return 1; }
		fi
		sleep 0.2
	done
}

# pg__psql_raw DB ARGS... - psql as the superuser, no psqlrc, stop on error
pg__psql_raw() {
	_pg_db=$1
	shift
	PGCONNECT_TIMEOUT=10 "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCKDIR" -p "$PG_PORT" \
		-U "$PG_SUPERUSER" -d "$_pg_db" "$@"
}

# pg_psql ARGS... - psql as the superuser in PG_DB, e.g. pg_psql -Atc 'select 1'
pg_psql() { pg__psql_raw "$PG_DB" "$@"; }

# pg_pid - the postmaster's pid from postmaster.pid (it may have exited)
pg_pid() {
	[ -n "${PG_DATA:-}" ] && [ -s "$PG_DATA/postmaster.pid" ] || return 1
	head -n 1 "$PG_DATA/postmaster.pid" | tr -dc 0-9
	echo
}

# pg_alive - true if this server's postmaster runs
pg_alive() {
	_pg_pid=$(pg_pid) && [ -n "$_pg_pid" ] && [ -r "/proc/$_pg_pid/stat" ] || return 1
	case $(sed 's/.*) //' "/proc/$_pg_pid/stat" 2>/dev/null | cut -c1) in
	'' | Z | X) return 1 ;;
	esac
	return 0
}

# pg_createdb NAME [ROLE] - create ROLE (default NAME; a LOGIN role, not a
# superuser) if missing and database NAME owned by it; prints its URI
pg_createdb() {
	_pg_name=$1
	_pg_role=${2:-$1}
	case $_pg_name$_pg_role in
	*[!a-z0-9_]*) pg__err "pg_createdb: names are [a-z0-9_]: $_pg_name $_pg_role"; return 2 ;;
	esac
	if [ "$(pg__psql_raw postgres -Atc "select 1 from pg_roles where rolname = '$_pg_role'")" != 1 ]; then
		pg__psql_raw postgres -c "create role $_pg_role login" >/dev/null || { pg__err "create role $_pg_role failed"; return 1; }
	fi
	pg__psql_raw postgres -c "create database $_pg_name owner $_pg_role" >/dev/null || { pg__err "create database $_pg_name failed"; return 1; }
	pg_uri "$_pg_name" "$_pg_role"
}

# pg_up - start the (initialised) server and wait until it answers
pg_up() {
	[ -n "${PG_DATA:-}" ] || { pg__err "pg_start first"; return 1; }
	pg_alive && return 0
	# a postmaster killed with -9 leaves postmaster.pid; postgres itself checks
	# that the pid in it is gone, so a stale file does not stop the start
	pg__as_owner "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 120 -s start >>"$PG_DIR/pg_ctl.out" 2>&1 || {
		pg__err "pg_ctl start failed:"
		tail -n 5 "$PG_DIR/pg_ctl.out" >&2
		tail -n 20 "$PG_LOG" >&2 2>/dev/null
		return 1
	}
	pg_wait_ready 120
}

# pg_down [MODE] - stop the server, keeping its data; MODE is pg_ctl's
# (immediate, the default: like a crash; fast; smart) or "kill" (SIGKILL to
# the postmaster and its children). Returns once the postmaster is gone.
pg_down() {
	[ -n "${PG_DATA:-}" ] || return 0
	_pg_pid=$(pg_pid) || return 0
	# the children too: a new postmaster will not start while an old backend
	# still holds the shared memory
	_pg_kids=$(ps -o pid= --ppid "$_pg_pid" 2>/dev/null | tr -d ' ' | tr '\n' ' ')
	case ${1:-immediate} in
	kill)
		kill -KILL "$_pg_pid" $_pg_kids 2>/dev/null
		;;
	*)
		pg__as_owner "$PG_BIN/pg_ctl" -D "$PG_DATA" -m "${1:-immediate}" -w -t 60 -s stop >>"$PG_DIR/pg_ctl.out" 2>&1
		;;
	esac
	# until each is reaped: postgres refuses to start while the pid in a stale
	# postmaster.pid exists, even as a zombie; a zombie that nobody reaps
	# within 10 s is let be, and its stale postmaster.pid removed
	_pg_n=0
	for _pg_q in "$_pg_pid" $_pg_kids; do
		while [ -e "/proc/$_pg_q" ]; do
			if [ "$(sed 's/.*) //' "/proc/$_pg_q/stat" 2>/dev/null | cut -c1)" = Z ]; then
				[ "$_pg_n" -lt 100 ] || { [ "$_pg_q" != "$_pg_pid" ] || rm -f "$PG_DATA/postmaster.pid"; break; }
			else
				[ "$_pg_n" -lt 600 ] || { pg__err "postgres process $_pg_q did not exit"; return 1; }
			fi
			_pg_n=$((_pg_n + 1))
			sleep 0.1
		done
	done
	return 0
}

# pg_start - a fresh server in a new mktemp directory, running and ready,
# with the role and database PG_DBNAME (default shadowmilter); sets PG_URI
pg_start() {
	PG_BIN=$(pg__bindir) || return 1
	for _pg_b in initdb pg_ctl postgres pg_isready psql; do
		[ -x "$PG_BIN/$_pg_b" ] || { pg__err "$PG_BIN/$_pg_b missing: install the postgresql package"; return 1; }
	done
	if [ "$(id -u)" = 0 ]; then
		PG_OS_USER=${PG_OS_USER:-}
		if [ -z "$PG_OS_USER" ]; then
			if id postgres >/dev/null 2>&1; then PG_OS_USER=postgres; else PG_OS_USER=nobody; fi
		fi
		[ "$(id -u "$PG_OS_USER" 2>/dev/null)" != 0 ] || { pg__err "PG_OS_USER must be a non-root user"; return 1; }
		id "$PG_OS_USER" >/dev/null 2>&1 || { pg__err "no user $PG_OS_USER"; return 1; }
	else
		PG_OS_USER=$(id -un)
	fi
	PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/sm-pg.XXXXXX") || return 1
	PG_DATA=$PG_DIR/data
	PG_SOCKDIR=$PG_DIR/sock
	PG_LOG=$PG_DIR/postgres.log
	PG_SUPERUSER=postgres
	PG_PORT=$(pg__pick_port)
	# world-searchable: clients running as other users (the milter after it
	# drops privileges) must reach the socket; the data directory stays 0700
	chmod 755 "$PG_DIR" && mkdir -m 755 "$PG_SOCKDIR" && : >"$PG_LOG" && : >"$PG_DIR/pg_ctl.out" || return 1
	if [ "$(id -u)" = 0 ]; then
		chown "$PG_OS_USER" "$PG_DIR" "$PG_SOCKDIR" "$PG_LOG" "$PG_DIR/pg_ctl.out" || return 1
	fi
	pg__as_owner "$PG_BIN/initdb" -D "$PG_DATA" -U "$PG_SUPERUSER" -A trust -E UTF8 --locale=C \
		--no-sync --no-instructions >"$PG_DIR/initdb.out" 2>&1 || {
		pg__err "initdb failed:"
		tail -n 20 "$PG_DIR/initdb.out" >&2
		return 1
	}
	cat >>"$PG_DATA/postgresql.conf" <<EOF
# private test server; written by pg-lib.sh
listen_addresses = ''
port = $PG_PORT
unix_socket_directories = '$PG_SOCKDIR'
unix_socket_permissions = 0777
fsync = off
full_page_writes = off
shared_buffers = 32MB
max_connections = 60
logging_collector = off
log_line_prefix = '%m [%p] %u@%d '
log_min_messages = warning
log_connections = off
EOF
	[ -z "${PG_EXTRA_CONF:-}" ] || printf '%s\n' "$PG_EXTRA_CONF" >>"$PG_DATA/postgresql.conf"
	pg_up || return 1
	PG_DB=${PG_DBNAME:-shadowmilter}
	PG_ROLE=$PG_DB
	PG_URI=$(pg_createdb "$PG_DB") || return 1
	export PG_URI
}

# pg_stop - stop the server (fast, then immediate, then SIGKILL) and remove
# its directory (unless PG_KEEP). Safe to call when not started, or twice.
pg_stop() {
	[ -n "${PG_DIR:-}" ] || return 0
	if pg_alive; then
		pg_down fast >/dev/null 2>&1
		pg_alive && pg_down immediate >/dev/null 2>&1
		pg_alive && pg_down kill >/dev/null 2>&1
	fi
	if [ -n "${PG_KEEP:-}" ]; then
		pg__err "kept $PG_DIR"
	else
		rm -rf "$PG_DIR"
	fi
	PG_DIR= PG_DATA= PG_SOCKDIR=
	! pg_alive
}
