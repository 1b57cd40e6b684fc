#!/usr/bin/env bash
# Formats the C, C++ and header files of the repository with clang-format
# (the repository's .clang-format, for Debian's clang-format 14).
#   tools/format.sh          rewrites every file that is not formatted
#   tools/format.sh --check  changes nothing; lists the files that are not
#                            formatted and fails if there is any
set -euo pipefail
cd "$(dirname "$0")/.."
check=false
[ "${1:-}" = "--check" ] && check=true
command -v clang-format >/dev/null || { echo "format.sh: clang-format is missing (tools/setup.sh installs it)" >&2; exit 2; }
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files '*.c' '*.h' '*.cc')
else
  mapfile -t files < <(find include src tests tools bench scenarios examples -name '*.[ch]' -o -name '*.cc')
fi
bad=()
for f in "${files[@]}"; do
  [ -f "$f" ] || continue
  if $check; then
    clang-format "$f" | cmp -s "$f" - || bad+=("$f")
  else
    clang-format -i "$f"
  fi
done
if $check && [ ${#bad[@]} -gt 0 ]; then
  echo "format.sh: ${#bad[@]} file(s) not formatted (run tools/format.sh):" >&2
  printf '  %s\n' "${bad[@]}" >&2
  exit 1
fi
exit 0
