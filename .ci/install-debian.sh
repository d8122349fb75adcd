#!/usr/bin/env bash
# The Debian packages the tests need, installed when missing (idempotent; needs root only to install):
#   openssh-server, openssh-client  the transport tests start their own private sshd on 127.0.0.1
#   chromium                        the web workspace's browser tests (Playwright drives /usr/bin/chromium)
#   libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 fonts-dejavu-core
#                                   WeasyPrint's libraries and a font (appeal letters as PDF)
set -euo pipefail
packages=(openssh-server openssh-client chromium libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b
          libharfbuzz-subset0 fonts-dejavu-core)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# privilege-separation directory sshd wants when it runs as root
if [ "$(id -u)" = 0 ]; then mkdir -p /run/sshd && chmod 0755 /run/sshd; fi
/usr/sbin/sshd -V 2>&1 | head -n 1 || true
/usr/bin/chromium --version 2>/dev/null || true
