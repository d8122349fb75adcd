#!/usr/bin/env bash
# Install OpenSSH's sshd (used by the transport tests) when it is missing. Idempotent.
set -euo pipefail
if [ -x /usr/sbin/sshd ]; then exit 0; fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends openssh-server >/dev/null
