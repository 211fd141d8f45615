#!/usr/bin/env bash
# Writes English training text that Debian packages ship, as paragraphs
# separated by blank lines (one document each for `frugal prepare-data`):
#   OUT/kjv.txt       the King James Bible (package bible-kjv), one chapter per document
#   OUT/fortunes.txt  the fortune-cookie files (package fortunes), one cookie per document
# Installs the two packages when missing (apt, as scripts/install-deps.sh does).
set -euo pipefail
out=${1:?usage: scripts/debian-corpus.sh OUT_DIR}
mkdir -p "$out"

missing=()
for p in bible-kjv fortunes; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  echo "debian-corpus: installing ${missing[*]}" >&2
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# "Ge1:1 In the beginning ..." -> one paragraph per chapter, verse numbers dropped.
bible -f "Genesis 1:1-Revelation 22:21" 2>/dev/null |
  awk '{ ref = $1; sub(/:[0-9]+$/, "", ref); $1 = ""; sub(/^ /, "")
         if (NR > 1) printf (ref != chapter ? "\n\n" : " ")
         printf "%s", $0; chapter = ref }
       END { printf "\n" }' > "$out/kjv.txt.tmp"
mv "$out/kjv.txt.tmp" "$out/kjv.txt"

# Cookies are separated by "%" lines; backspace overstriking is dropped.
for f in /usr/share/games/fortunes/*; do
  [ -f "$f" ] && [ ! -L "$f" ] || continue
  case "$f" in *.dat|*.u8) continue ;; esac
  awk 'BEGIN { RS = "\n%\n" } { gsub(/\n+$/, ""); if (length($0) > 0) printf "%s\n\n", $0 }' "$f"
done | tr -d '\010' > "$out/fortunes.txt.tmp"
mv "$out/fortunes.txt.tmp" "$out/fortunes.txt"

wc -c "$out/kjv.txt" "$out/fortunes.txt" >&2
