#!/usr/bin/env python3
"""Turn a `runtime spec` config.json into one with docker's default restrictions.

    docker_config.py IN OUT ROOTFS CGROUP_PATH [MEMORY_BYTES]

docker's 14 default capabilities, its default seccomp profile (read from
containers-common's seccomp.json, the profile docker and podman share, with its
`includes`/`excludes` resolved for these capabilities on x86_64 as docker does),
the spec template's masked and read-only paths, no_new_privileges, a cgroup
(CGROUP_PATH) and, given MEMORY_BYTES, a memory limit. The process is
/bin/true without a terminal, so every runtime does the same work and exits.
"""
import json
import platform
import sys

DOCKER_CAPS = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
    "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
]
PROFILE = "/usr/share/containers/seccomp.json"
ARCHES = {"x86_64": ("amd64", "SCMP_ARCH_X86_64"), "aarch64": ("arm64", "SCMP_ARCH_AARCH64")}


def seccomp_for(caps):
    with open(PROFILE) as f:
        profile = json.load(f)
    goarch, scmp = ARCHES.get(platform.machine(), ("amd64", "SCMP_ARCH_X86_64"))
    arches = [scmp]
    for entry in profile.get("archMap") or []:
        if entry["architecture"] == scmp:
            arches += entry.get("subArchitectures") or []
    rules = []
    for rule in profile["syscalls"]:
        inc, exc = rule.get("includes") or {}, rule.get("excludes") or {}
        if inc.get("arches") and goarch not in inc["arches"]:
            continue
        if exc.get("arches") and goarch in exc["arches"]:
            continue
        if inc.get("caps") and not all(c in caps for c in inc["caps"]):
            continue
        if exc.get("caps") and any(c in caps for c in exc["caps"]):
            continue
        out = {"names": rule["names"], "action": rule["action"]}
        if rule.get("args"):
            out["args"] = rule["args"]
        if rule.get("errnoRet") is not None:
            out["errnoRet"] = rule["errnoRet"]
        rules.append(out)
    seccomp = {"defaultAction": profile["defaultAction"], "architectures": arches, "syscalls": rules}
    if profile.get("defaultErrnoRet") is not None:
        seccomp["defaultErrnoRet"] = profile["defaultErrnoRet"]
    return seccomp


def main():
    if len(sys.argv) not in (5, 6):
        sys.exit(__doc__)
    src, dst, rootfs, cgroup = sys.argv[1:5]
    with open(src) as f:
        config = json.load(f)
    process = config.setdefault("process", {})
    process["args"] = ["/bin/true"]
    process["terminal"] = False
    process["noNewPrivileges"] = True
    process["capabilities"] = {k: list(DOCKER_CAPS) for k in ("bounding", "effective", "permitted")}
    config["root"] = {"path": rootfs, "readonly": True}
    linux = config.setdefault("linux", {})
    linux["seccomp"] = seccomp_for(DOCKER_CAPS)
    linux["cgroupsPath"] = cgroup
    resources = linux.setdefault("resources", {})
    if len(sys.argv) == 6:
        resources["memory"] = {"limit": int(sys.argv[5])}
    with open(dst, "w") as f:
        json.dump(config, f, indent=2)


if __name__ == "__main__":
    main()
