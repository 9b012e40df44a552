#!/bin/sh
# /init of the cgroup-v2 lane's guest (busybox sh, PID 1).
#
# scripts/vm/run-v2-lane copies this file into the initramfs as /init, next to
# /minibox-vm/{env,modules.list,tests.list}. It runs twice:
#
#   stage 1 (on the initramfs itself): copy everything into a tmpfs and
#     switch_root into it. The initramfs root ("rootfs") can never be
#     pivot_root'ed away from, and our tests pivot_root into their containers,
#     exactly as on a real host whose / is a real filesystem.
#   stage 2 (on the tmpfs): mount the API filesystems and cgroup2 — and no v1
#     hierarchy at all —, load modules, put ourselves in a non-root cgroup like
#     systemd does on a laptop, run the tests once per pass (first with no
#     controller handed down anywhere, then with all of them), print one
#     machine-readable result line, power off.
#
# Everything the host parses starts with "MINIBOX-VM-".

export PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# ANCHOR: stage1
if [ "$1" != stage2 ]; then
    mount -t proc proc /proc
    mkdir -p /newroot
    # 80% of RAM: the tests' temporary rootfs copies live here too.
    mount -t tmpfs -o size=80%,mode=0755 newroot /newroot
    for entry in /*; do
        case "$entry" in
            /newroot|/proc|/sys|/dev) ;;
            *) cp -a "$entry" /newroot/ ;;
        esac
    done
    mkdir -p /newroot/proc /newroot/sys /newroot/dev
    umount /proc
    # shellcheck disable=SC2093 # the lines after it run only if switch_root failed
    exec switch_root /newroot /init stage2
    echo "MINIBOX-VM-ERROR: switch_root failed"
    poweroff -f
fi
# ANCHOR_END: stage1

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts -o newinstance,ptmxmode=0666 devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mkdir -p /run && mount -t tmpfs -o mode=0755 tmpfs /run
# ANCHOR: cgroup2
# The one and only cgroup hierarchy. The kernel also runs with cgroup_no_v1=all,
# so nothing can mount a v1 hierarchy behind our back.
mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup
# ANCHOR_END: cgroup2
hostname minibox-v2-lane
# Loopback only (there is no NIC): tests may talk to 127.0.0.1.
ip link set lo up

# shellcheck disable=SC1091
. /minibox-vm/env

echo "MINIBOX-VM-STAGE: kernel $(uname -r), $(nproc) CPUs, $(awk '/MemTotal/ {print $2 " kB"}' /proc/meminfo)"

# Modules in dependency order (the host resolved the order from .modinfo).
while read -r module; do
    [ -n "$module" ] || continue
    if ! insmod "/lib/modules/minibox/$module" 2>/run/insmod.err; then
        # "File exists": built in or already loaded. Anything else is worth a line.
        grep -q 'exists' /run/insmod.err || echo "MINIBOX-VM-WARN: insmod $module: $(cat /run/insmod.err)"
    fi
done </minibox-vm/modules.list

# ANCHOR: tmp_disk
# /tmp: the ext4 disk the host attached (see run-v2-lane for why not tmpfs).
# Mounted on /tmp it would hide a checkout that lives under /tmp (the test
# executables sit at their host paths): then it goes to /var/tmp, and TMPDIR
# points there.
tmpdir=/tmp
[ -z "$(ls -A /tmp)" ] || tmpdir=/var/tmp
mkdir -p "$tmpdir"
for _ in 1 2 3 4 5 6 7 8 9 10; do [ -b /dev/vda ] && break; sleep 0.5; done
if mount -t ext4 /dev/vda "$tmpdir"; then
    chmod 1777 "$tmpdir"
else
    echo "MINIBOX-VM-WARN: no /tmp disk (/dev/vda): $tmpdir stays on tmpfs"
    [ "$tmpdir" = /var/tmp ] || mount -t tmpfs -o mode=1777 tmpfs /tmp
fi
export TMPDIR="$tmpdir"
# ANCHOR_END: tmp_disk

# ANCHOR: controllers
# Enable every controller the kernel offers in a cgroup's subtree_control,
# like systemd does for the root and its slices.
cg=/sys/fs/cgroup
enable_all() {
    # shellcheck disable=SC2013 # the file is one line of words
    for c in $(cat "$1/cgroup.controllers"); do
        echo "+$c" >"$1/cgroup.subtree_control" 2>/dev/null ||
            echo "MINIBOX-VM-WARN: cannot enable $c in $1/cgroup.subtree_control"
    done
}

# Where the tests run: "nested" (the default) mirrors a systemd host, where
# `sudo cargo test` runs inside a leaf like /user.slice/…/session-2.scope and
# the "no internal processes" rule applies to it; "root" keeps us in "/".
# A pass (see MINIBOX_VM_PASSES) decides whether the controllers are handed
# down beforehand: "bare" leaves every subtree_control as the kernel boots it —
# empty — so the code that enables controllers level by level must do it all;
# "enabled" hands everything down first, as systemd does.
place_tests() {
    if [ "${MINIBOX_VM_CGROUP:-nested}" = nested ]; then
        mkdir -p "$cg/minibox.slice/tests.scope"
        [ "$1" = bare ] || enable_all "$cg/minibox.slice"
        echo $$ >"$cg/minibox.slice/tests.scope/cgroup.procs"
    fi
}
# ANCHOR_END: controllers

echo "MINIBOX-VM-MOUNTINFO-BEGIN"
cat /proc/self/mountinfo
echo "MINIBOX-VM-MOUNTINFO-END"
echo "MINIBOX-VM-CGROUP-CONTROLLERS: $(cat $cg/cgroup.controllers)"

# ANCHOR: run-tests
# tests.list: one line per test executable: "<executable> <working directory> <label>".
ran=0
failed=0
first_failure=0
for pass in ${MINIBOX_VM_PASSES:-bare enabled}; do
    [ "$pass" = bare ] || enable_all "$cg"
    place_tests "$pass"
    echo "MINIBOX-VM-PASS-BEGIN: $pass (root's cgroup.subtree_control: '$(cat $cg/cgroup.subtree_control)')"
    echo "MINIBOX-VM-SELF-CGROUP: $(cat /proc/self/cgroup)"
    while read -r exe dir label; do
        [ -n "$exe" ] || continue
        ran=$((ran + 1))
        echo "MINIBOX-VM-TEST-BEGIN: $pass $label"
        start=$(date +%s)
        # stdin from /dev/null: the test harness must never wait on the console.
        # A per-executable timeout: one hung test must not eat the whole lane.
        # shellcheck disable=SC2086
        (cd "$dir" && CARGO_MANIFEST_DIR="$dir" exec timeout -s KILL "${MINIBOX_VM_TEST_TIMEOUT:-300}" \
            "$exe" $MINIBOX_VM_TEST_ARGS </dev/null) 2>&1
        rc=$?
        seconds=$(($(date +%s) - start))
        [ "$rc" -ne 137 ] || [ "$seconds" -lt "${MINIBOX_VM_TEST_TIMEOUT:-300}" ] ||
            echo "MINIBOX-VM-WARN: $label killed after ${seconds}s (MINIBOX_VM_TEST_TIMEOUT): a test hangs"
        echo "MINIBOX-VM-TEST: $pass $label exit=$rc seconds=$seconds"
        if [ "$rc" -ne 0 ]; then
            failed=$((failed + 1))
            [ "$first_failure" -ne 0 ] || first_failure=$rc
        fi
    done </minibox-vm/tests.list
    # What the code had to enable itself in the bare pass shows here.
    echo "MINIBOX-VM-PASS-END: $pass (root's cgroup.subtree_control: '$(cat $cg/cgroup.subtree_control)')"
    # Nothing left behind? A test that leaks a cgroup or a writable layer shows here.
    echo "MINIBOX-VM-LEFTOVER-CGROUPS: $pass: $(cd $cg && find . -mindepth 1 -type d | grep -v '^./minibox.slice$' | grep -v '^./minibox.slice/tests.scope$' | tr '\n' ' ')"
    echo "MINIBOX-VM-LEFTOVER-STATE: $pass: $(find "$TMPDIR" -maxdepth 1 -name 'ch04-overlay-*' | tr '\n' ' ')"
done

echo "MINIBOX-VM-RESULT: exit=$first_failure failed=$failed ran=$ran"
sync
poweroff -f
# ANCHOR_END: run-tests
