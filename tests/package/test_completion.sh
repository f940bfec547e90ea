#!/usr/bin/env bash
# The bash completion of primusctl offers exactly what `primusctl ... --help` lists: for every
# command path (found by walking the help's Subcommands sections, so a new command without
# completion fails here), completing "" offers its subcommands and completing "-" its options.
#
# Usage: test_completion.sh COMPLETION_FILE   with PRIMUSCTL (a command, default
# build/daemon/primusctl) the primusctl to ask; its `embed` and `model` need primus-model.
set -uo pipefail
completion=${1:?usage: test_completion.sh COMPLETION_FILE}
primusctl=${PRIMUSCTL:-build/daemon/primusctl}
# shellcheck disable=SC1090
source "$completion" || { echo "test_completion: cannot source $completion" >&2; exit 1; }

# The first token of every line of a help section ("Options:" or "Subcommands:"), split on ','.
section() {
  awk -v want="$1" '
    /^[A-Za-z].*:$/ { in_section = ($0 == want); next }
    in_section && /^  [^ ]/ { split($1, parts, ","); for (p in parts) print parts[p] }
  ' | sort -u
}

# What the completion offers after `primusctl WORDS... CUR`.
complete_words() {
  local cur=$1
  shift
  COMP_WORDS=(primusctl "$@" "$cur")
  COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
  COMP_LINE="${COMP_WORDS[*]}"
  COMP_POINT=${#COMP_LINE}
  COMPREPLY=()
  _primusctl 2>/dev/null
  printf '%s\n' "${COMPREPLY[@]}" | sort -u | grep -v '^$'
}

failures=0
checked=0
check_path() {
  local help
  # shellcheck disable=SC2086
  help=$($primusctl "$@" --help 2>&1) || { echo "FAIL: primusctl $* --help failed: $help"; failures=$((failures + 1)); return; }
  local want_opts want_subs got_opts got_subs
  want_opts=$(section "Options:" <<<"$help")
  want_subs=$(section "Subcommands:" <<<"$help")
  got_opts=$(complete_words "-" "$@" | grep '^-')
  got_subs=$(complete_words "" "$@" | grep -v '^-')
  checked=$((checked + 1))
  if [ "$want_opts" != "$got_opts" ]; then
    echo "FAIL: primusctl $* -<TAB>:"
    diff <(echo "$want_opts") <(echo "$got_opts") | sed -n 's/^</  missing: /p; s/^>/  extra:   /p'
    failures=$((failures + 1))
  fi
  if [ -n "$want_subs" ] && [ "$want_subs" != "$got_subs" ]; then
    echo "FAIL: primusctl $* <TAB>:"
    diff <(echo "$want_subs") <(echo "$got_subs") | sed -n 's/^</  missing: /p; s/^>/  extra:   /p'
    failures=$((failures + 1))
  fi
  local s
  for s in $want_subs; do check_path "$@" "$s"; done
}
check_path

# Option values.
[ "$(complete_words "" events --topic | tr '\n' ' ')" = "device gesture score status training " ] ||
  { echo "FAIL: events --topic <TAB>"; failures=$((failures + 1)); }
[ "$(complete_words "" finetune --mode | tr '\n' ' ')" = "full head staged " ] ||
  { echo "FAIL: finetune --mode <TAB>"; failures=$((failures + 1)); }
[ "$(complete_words "" captures export --format | tr '\n' ' ')" = "csv npz " ] ||
  { echo "FAIL: captures export --format <TAB>"; failures=$((failures + 1)); }

echo "test_completion: $checked command paths checked, $failures failures"
[ "$failures" -eq 0 ]
