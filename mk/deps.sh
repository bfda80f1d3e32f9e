#!/bin/sh
# deps.sh [--check]: the Debian packages of mk/packages that are not
# installed are installed with apt-get (as root, or through sudo when it
# exists); without either, one line says the command to run, and the exit
# status is 1. --check only names the missing ones (exit 1 if any).
# Nothing is run when everything is installed (no apt-get update), so make
# can call this before every build. Machines without dpkg are left alone.
set -u
cd "$(dirname "$0")/.." || exit 1
check_only=
[ "${1-}" = --check ] && check_only=1

command -v dpkg-query >/dev/null 2>&1 || exit 0
pkgs=$(sed -e 's/#.*//' mk/packages | tr -s ' \t\n' ' ')
# An installed package prints "ii"; a removed one another status; an
# unknown one nothing at all, so compare against the list.
installed=$(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' $pkgs 2>/dev/null |
	awk '$1 == "ii" { print $2 }')
installed=" $(echo $installed) "
missing=
for p in $pkgs; do
	case $installed in
	*" $p "*) ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0
missing=${missing# }

cmd="apt-get update && apt-get install -y --no-install-recommends $missing"
if [ -n "$check_only" ]; then
	echo "missing Debian packages: $missing" >&2
	exit 1
fi
if [ "$(id -u)" = 0 ]; then
	sudo=
elif command -v sudo >/dev/null 2>&1; then
	sudo=sudo
else
	echo "missing Debian packages: $missing; install them as root with: $cmd" >&2
	exit 1
fi
echo "installing the missing Debian packages: $missing" >&2
export DEBIAN_FRONTEND=noninteractive
if ! { $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends $missing; }; then
	echo "could not install: $missing; install them with: ${sudo:+sudo sh -c '}$cmd${sudo:+'}" >&2
	exit 1
fi
