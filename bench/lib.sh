# Shared by the bench scripts (sourced from the repository root, not run).

# Makes sure every COMMAND=PACKAGE's command exists. Missing ones are installed from their
# Debian packages when running as root; otherwise this says what to install and answers 1.
#   ensure_commands soak wrk=wrk || exit 2
ensure_commands() {
  local who=$1 pair
  local missing=()
  shift
  for pair in "$@"; do
    command -v "${pair%%=*}" > /dev/null 2>&1 || missing+=("${pair#*=}")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ]; then
    echo "$who: installing ${missing[*]} (apt-get)" >&2
    apt-get update -qq > /dev/null && apt-get install -y -qq "${missing[@]}" > /dev/null
  else
    echo "$who: needs ${missing[*]}: sudo apt-get install ${missing[*]}" >&2
    return 1
  fi
}
