#!/usr/bin/env bash
# Makes localhost/pybase:3.11, the stand-in for the Dockerfile's pinned python base
# (python:3.11.11-slim-bookworm) on machines that reach no container registry: Debian
# 12 with its Python 3.11 from debootstrap, the host's apt sources, apt settings and CA
# certificates copied in, so apt and pip inside a build reach the same package indexes
# as the host. Skipped when the image exists. Root; needs podman, debootstrap.
set -euo pipefail
IMAGE=${PYBASE_IMAGE:-localhost/pybase:3.11}
podman() { command podman --runtime /usr/sbin/runc --cgroup-manager cgroupfs "$@"; }

if podman image exists "$IMAGE"; then
  exit 0
fi
log() { printf '[podman-base] %s\n' "$*" >&2; }

# The Debian mirror the host itself uses (deb822 or one-line sources)
mirror=$(grep -hoE '^URIs: *\S+/debian/?$' /etc/apt/sources.list.d/*.sources 2>/dev/null \
           | head -1 | awk '{print $2}')
[ -n "$mirror" ] || mirror=$(grep -hoE '^deb +\S+/debian/? ' /etc/apt/sources.list 2>/dev/null \
                               | head -1 | awk '{print $2}')
mirror=${mirror:-http://deb.debian.org/debian}

rootfs=$(mktemp -d /var/tmp/pybase.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT
log "debootstrap bookworm from $mirror (about 2 minutes)"
debootstrap --variant=minbase \
  --include=python3,python3-venv,python3-pip,python-is-python3,ca-certificates \
  bookworm "$rootfs" "$mirror" >/dev/null

# same indexes as the host: apt sources and settings, CA certificates, pip's cert
cp -a /etc/apt/sources.list.d/. "$rootfs/etc/apt/sources.list.d/"
rm -f "$rootfs"/etc/apt/sources.list.d/*.disabled*
[ -f /etc/apt/sources.list ] && cp /etc/apt/sources.list "$rootfs/etc/apt/sources.list"
cp -a /etc/apt/apt.conf.d/. "$rootfs/etc/apt/apt.conf.d/"
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/"
fi
chroot "$rootfs" update-ca-certificates >/dev/null
printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' > "$rootfs/etc/pip.conf"
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*

log "importing as $IMAGE"
tar -C "$rootfs" -c . | podman import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' --change 'CMD ["python3"]' - "$IMAGE" >/dev/null
