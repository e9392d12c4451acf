#!/bin/sh
# How a clone of this repository becomes an installed `kestra-fastly`: the two stages of the
# Dockerfile, as plain commands. test/install.test.ts runs them without Docker, so neither rots.
#
#   sh scripts/install-from-source.sh pack DIR      # npm ci, npm run build, npm pack into DIR
#   sh scripts/install-from-source.sh install DIR   # npm install --global DIR/kestra-plugin-fastly-<version>.tgz
#
# `pack` runs in the clone. KESTRA_FASTLY_SKIP_BUILD=1 packs the build already in dist/ (the test:
# `npm test` has just run `npm ci` and the build). `install` honours npm's own settings
# (npm_config_prefix for another global folder, npm_config_prefer_offline...).
set -eu
usage='usage: sh scripts/install-from-source.sh pack|install DIR'
step=${1:?$usage}
dir=${2:?$usage}
case "$step" in
  pack)
    if [ "${KESTRA_FASTLY_SKIP_BUILD:-}" != 1 ]; then
      npm ci --no-audit --no-fund
      npm run build
    fi
    mkdir -p "$dir"
    npm pack --pack-destination "$dir"
    ;;
  install)
    set -- "$dir"/kestra-plugin-fastly-*.tgz
    if [ "$#" -ne 1 ] || [ ! -f "$1" ]; then
      echo "error: $dir: expected exactly one kestra-plugin-fastly-*.tgz (run the pack step first)" >&2
      exit 2
    fi
    npm install --global --no-audit --no-fund "$1"
    ;;
  *)
    echo "error: $step: unknown step; expected pack or install" >&2
    exit 2
    ;;
esac
