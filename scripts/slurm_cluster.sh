#!/usr/bin/env bash
# A real single-node SLURM cluster (with accounting) for tests and try-outs, from Debian packages.
#
#   scripts/slurm_cluster.sh up       install packages if missing, start every daemon, wait for an idle node
#   scripts/slurm_cluster.sh status   daemons and their pids, sinfo; exit 0 only if the node is usable
#   scripts/slurm_cluster.sh down     stop the daemons by the pids recorded in the state folder
#   scripts/slurm_cluster.sh purge    down, then delete the state folder (next `up` is a fresh cluster)
#   scripts/slurm_cluster.sh env      print `export SLURM_CONF=...` (clients need it: eval "$(... env)")
#
# Everything (configs, munge key, MariaDB datadir, spool, logs, pid files) lives in one state folder,
# $CTDNA_SLURM_STATE (default /tmp/ctdna-slurm), with two exceptions at default paths, because some
# clients look nowhere else: munge's socket (/run/munge/munge.socket.2; sacctmgr 22.05 ignores
# AuthInfo=socket= towards slurmdbd) and /etc/slurm/slurm.conf, a symlink to the state folder's config
# (snakemake-executor-plugin-slurm-jobstep strips every SLURM_* variable, SLURM_CONF included, before its
# srun inside a job). The symlink is only made where no slurm.conf exists, and `down` removes it.
# While apt runs, /usr/sbin/policy-rc.d exits 101 (so the packages' init scripts do not start daemons
# with their own configs); it is removed again if this script created it. Daemons are started directly (no systemd) and stopped
# by their recorded pids only. Needs root (jobs run as root on this test cluster).
# Ports (override with the variables): slurmctld 16817, slurmd 16818, slurmdbd 16819, MariaDB 16306.
# Research/test use: memory limits are bookkeeping only (no cgroups), one partition `debug`.
set -euo pipefail

STATE=${CTDNA_SLURM_STATE:-/tmp/ctdna-slurm}
CTLD_PORT=${CTDNA_SLURM_CTLD_PORT:-16817}
SLURMD_PORT=${CTDNA_SLURM_SLURMD_PORT:-16818}
DBD_PORT=${CTDNA_SLURM_DBD_PORT:-16819}
DB_PORT=${CTDNA_SLURM_DB_PORT:-16306}
CLUSTER=ctdna
ACCOUNT=ctdna
PACKAGES=(slurmctld slurmd slurm-client slurmdbd munge mariadb-server)
DAEMONS=(munged mariadbd slurmdbd slurmctld slurmd) # start order; stopped in reverse

ETC=$STATE/etc RUN=$STATE/run LOG=$STATE/log
# Munge's socket stays at its default path: sacctmgr (22.05) ignores AuthInfo=socket= for slurmdbd connections.
MUNGE_SOCKET=/run/munge/munge.socket.2
DEFAULT_CONF=/etc/slurm/slurm.conf
export SLURM_CONF=$ETC/slurm.conf

say() { printf 'slurm_cluster: %s\n' "$*" >&2; }
die() {
    say "error: $*"
    exit 1
}

pid_of() { # the recorded pid of a daemon if that process is alive and is that daemon, else nothing
    local file=$RUN/$1.pid pid
    [[ -s $file ]] || return 1
    pid=$(tr -dc '0-9' <"$file")
    # (a pid file left by a killed run may name a pid that another process has since been given)
    [[ -n $pid ]] && [[ $(ps -p "$pid" -o comm= 2>/dev/null) == "$1" ]] && echo "$pid"
}

wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
    local seconds=$1 what=$2
    shift 2
    local deadline=$((SECONDS + seconds))
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < deadline)) || die "$what did not come up within ${seconds}s (logs in $LOG)"
        sleep 0.5
    done
}

install_packages() {
    local missing=()
    for package in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
    done
    ((${#missing[@]})) || return 0
    [[ $EUID -eq 0 ]] || die "packages missing (${missing[*]}) and not root"
    say "installing ${missing[*]}"
    local own_policy=0
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        own_policy=1
    fi
    local status=0
    {
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$STATE/apt.log" 2>&1 ||
            { apt-get update -qq >>"$STATE/apt.log" 2>&1 &&
                DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >>"$STATE/apt.log" 2>&1; }
    } || status=$?
    ((own_policy)) && rm -f /usr/sbin/policy-rc.d
    ((status == 0)) || die "apt-get install failed (see $STATE/apt.log)"
}

write_configs() {
    local host cpus mem
    host=$(hostname -s)
    cpus=$(nproc)
    mem=$(awk '/MemTotal/ {printf "%d", $2 / 1024 * 0.9}' /proc/meminfo) # a bit under the total
    cat >"$ETC/slurm.conf" <<EOF
# Written by scripts/slurm_cluster.sh: single-node test cluster, state in $STATE
ClusterName=$CLUSTER
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
AuthType=auth/munge
CryptoType=crypto/munge
StateSaveLocation=$STATE/spool/ctld
SlurmdSpoolDir=$STATE/spool/d
SlurmctldPidFile=$RUN/slurmctld.pid
SlurmdPidFile=$RUN/slurmd.pid
SlurmctldLogFile=$LOG/slurmctld.log
SlurmdLogFile=$LOG/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
ReturnToService=2
MinJobAge=300
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=30
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=$DBD_PORT
AccountingStorageEnforce=associations
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
    cat >"$ETC/slurmdbd.conf" <<EOF
# Written by scripts/slurm_cluster.sh
AuthType=auth/munge
DbdHost=localhost
DbdPort=$DBD_PORT
SlurmUser=root
PidFile=$RUN/slurmdbd.pid
LogFile=$LOG/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=slurm
StoragePass=slurmtest
StorageLoc=slurm_acct_db
EOF
    chmod 600 "$ETC/slurmdbd.conf"
    if [[ -L $DEFAULT_CONF || ! -e $DEFAULT_CONF ]]; then
        mkdir -p "$(dirname "$DEFAULT_CONF")"
        ln -sfn "$ETC/slurm.conf" "$DEFAULT_CONF"
    elif [[ $(readlink -f "$DEFAULT_CONF") != "$ETC/slurm.conf" ]]; then
        say "warning: $DEFAULT_CONF exists and is not ours: srun inside jobs will read it"
    fi
}

start_munged() {
    [[ -s $ETC/munge.key ]] || { dd if=/dev/urandom of="$ETC/munge.key" bs=1024 count=1 status=none && chmod 400 "$ETC/munge.key"; }
    mkdir -p "$(dirname "$MUNGE_SOCKET")"
    munged --force --socket="$MUNGE_SOCKET" --key-file="$ETC/munge.key" --pid-file="$RUN/munged.pid" \
        --log-file="$LOG/munged.log" --seed-file="$RUN/munged.seed"
    wait_for 20 munged munge -n -S "$MUNGE_SOCKET"
}

mariadb_client() { mariadb --no-defaults --socket="$RUN/mariadb.sock" -u root "$@"; }

start_mariadbd() {
    if [[ ! -d $STATE/mysql/mysql ]]; then
        mariadb-install-db --no-defaults --datadir="$STATE/mysql" --user=root --auth-root-authentication-method=socket \
            --skip-test-db >"$LOG/mariadb-install.log" 2>&1 || die "mariadb-install-db failed (see $LOG/mariadb-install.log)"
    fi
    # mariadbd stays in the foreground: background it with its own session and record its pid.
    setsid mariadbd --no-defaults --datadir="$STATE/mysql" --socket="$RUN/mariadb.sock" --port="$DB_PORT" \
        --bind-address=127.0.0.1 --pid-file="$RUN/mariadbd.pid" --user=root --log-error="$LOG/mariadb.log" \
        --innodb-buffer-pool-size=64M </dev/null >/dev/null 2>&1 &
    echo $! >"$RUN/mariadbd.pid"
    wait_for 60 mariadbd mariadb_client -e "SELECT 1"
    mariadb_client -e "CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'slurmtest';
        CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY 'slurmtest';
        GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost'; GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';"
}

start_slurmdbd() { # reads slurmdbd.conf beside $SLURM_CONF
    slurmdbd 2>>"$LOG/slurmdbd.stderr"
    wait_for 60 slurmdbd sacctmgr -n show cluster
    sacctmgr -n show cluster format=cluster | grep -qw "$CLUSTER" || sacctmgr -i add cluster "$CLUSTER" >/dev/null
}

start_slurmctld() {
    slurmctld -i -f "$ETC/slurm.conf" 2>>"$LOG/slurmctld.stderr"
    wait_for 60 slurmctld scontrol ping
}

start_slurmd() {
    slurmd -f "$ETC/slurm.conf" 2>>"$LOG/slurmd.stderr"
    wait_for 30 slurmd pid_of slurmd
}

node_idle() { sinfo -h -N -o '%T' | grep -Eq '^(idle|mixed|allocated)'; }

up() {
    [[ $EUID -eq 0 ]] || die "must run as root (the test cluster runs its daemons and jobs as root)"
    mkdir -p "$STATE" "$ETC" "$RUN" "$LOG" "$STATE/spool/ctld" "$STATE/spool/d" "$STATE/mysql"
    install_packages
    write_configs
    for daemon in "${DAEMONS[@]}"; do
        if pid=$(pid_of "$daemon"); then
            say "$daemon already running (pid $pid)"
        else
            "start_$daemon"
            say "$daemon started (pid $(pid_of "$daemon" || echo '?'))"
        fi
    done
    if ! sacctmgr -n show account format=account | grep -qw "$ACCOUNT"; then
        sacctmgr -i add account "$ACCOUNT" cluster="$CLUSTER" description="ctdna-monitor tests" organization=ctdna >/dev/null
    fi
    if ! sacctmgr -n show assoc where user=root account="$ACCOUNT" format=user | grep -qw root; then
        sacctmgr -i add user root account="$ACCOUNT" defaultaccount="$ACCOUNT" cluster="$CLUSTER" >/dev/null
    fi
    wait_for 60 "an idle node" node_idle
    say "up: $(sinfo -h -N -o '%N %T %c CPUs %m MB'); account $ACCOUNT; export SLURM_CONF=$SLURM_CONF"
}

down() {
    local stopped=()
    for ((i = ${#DAEMONS[@]} - 1; i >= 0; i--)); do
        local daemon=${DAEMONS[i]} pid
        if pid=$(pid_of "$daemon"); then
            kill -TERM "$pid"
            for _ in $(seq 1 60); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.25
            done
            kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
            stopped+=("$daemon:$pid")
        fi
        rm -f "$RUN/$daemon.pid"
    done
    # Without a controller, a slurm.conf at the default path makes every later `snakemake` on this machine wait
    # ~10 s (MessageTimeout): the SLURM executor plugin runs `scontrol show config` when it is imported, also
    # for local runs. So the symlink lives only while the cluster is up.
    if [[ -L $DEFAULT_CONF && $(readlink "$DEFAULT_CONF") == "$ETC/slurm.conf" ]]; then rm -f "$DEFAULT_CONF"; fi
    say "down: stopped ${stopped[*]:-nothing}"
}

status() {
    local usable=0
    for daemon in "${DAEMONS[@]}"; do
        if pid=$(pid_of "$daemon"); then echo "$daemon running (pid $pid)"; else
            echo "$daemon not running"
            usable=1
        fi
    done
    echo "SLURM_CONF=$SLURM_CONF"
    if ((usable == 0)); then sinfo -N -o '%N %T %c %m' || usable=1; fi
    return $usable
}

case ${1:-} in
up) up ;;
down) down ;;
status) status ;;
purge)
    down
    [[ -L $DEFAULT_CONF && $(readlink "$DEFAULT_CONF") == "$ETC/slurm.conf" ]] && rm -f "$DEFAULT_CONF"
    rm -rf "$STATE"
    say "purged $STATE"
    ;;
env) echo "export SLURM_CONF=$SLURM_CONF" ;;
*)
    echo "usage: $0 up|down|status|purge|env   (state folder: $STATE)" >&2
    exit 2
    ;;
esac
