#!/usr/bin/env bash
# Install OpenSSH's sshd and ssh-keygen (used by the transport tests, which start their own private
# sshd on 127.0.0.1) when they are missing.  Idempotent; needs root (apt-get) only when installing.
set -euo pipefail
if [ ! -x /usr/sbin/sshd ] || ! command -v ssh-keygen >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends openssh-server openssh-client >/dev/null
fi
# privilege-separation directory sshd wants when it runs as root
if [ "$(id -u)" = 0 ]; then mkdir -p /run/sshd && chmod 0755 /run/sshd; fi
/usr/sbin/sshd -V 2>&1 | head -n 1 || true
