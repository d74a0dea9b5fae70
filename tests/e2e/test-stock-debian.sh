#!/bin/sh
# test-stock-debian.sh BUILD - the package on a stock Debian 12, as a new
# admin would use it: "make deb" (lintian: no errors); a minimal Debian 12
# root (tests/e2e/stock-debian-root.sh: mmdebstrap from this machine's apt
# sources, cached in BUILD/stock-debian/) with Debian's postfix as packaged,
# master.cf untouched (smtpd and cleanup chrooted); "apt-get install ./DEB"
# in it; then only the customer map, the test DKIM key (TestPublicKeys) and
# the documented snippet (/usr/share/shadowmilter/postfix-main.cf) are
# configured. Everything runs in a private network, mount and pid namespace
# (loopback only) on a throw-away overlay of the cached root; the daemon is
# started with the unit's own ExecStartPre= and ExecStart= lines, as its
# User=. Ends with "N passed, N failed"; SKIP when no root can be made.
# Needs root.
BUILD=${1:-build}
E2E="$(pwd)/tests/e2e"
CACHE="$(pwd)/$BUILD/stock-debian"
. "$E2E/milter-lib.sh"
. "$(pwd)/tests/ready.sh"
ml_need_root stock-Debian "$@"

if [ -z "${SM_STOCK_INNER:-}" ]; then
	# --- outside the namespaces: the package, the root -----------------------
	command -v dpkg-buildpackage >/dev/null 2>&1 && command -v dh >/dev/null 2>&1 &&
	    command -v unshare >/dev/null 2>&1 ||
		{ echo "SKIP stock-Debian suite: dpkg-dev, debhelper or unshare missing (tests/install-deps.sh)"
		  echo "$passed passed, $failed failed, 1 skipped"; exit 0; }
	mkdir -p "$CACHE"
	check "make deb builds the package and lintian finds no errors" \
	    sh -c "make -s BUILD='$BUILD' deb >'$CACHE/make-deb.log' 2>&1"
	DEB=$(ls "$BUILD"/deb/shadowmilter_*.deb 2>/dev/null | head -n 1)
	[ -n "$DEB" ] || { tail -n 30 "$CACHE/make-deb.log"; ml_give_up "no .deb to test"; }
	if ! why=$(sh "$E2E/stock-debian-root.sh" "$CACHE" "$DEB"); then
		echo "SKIP stock-Debian root: $why"
		echo "$passed passed, $failed failed, 1 skipped"
		[ "$failed" -eq 0 ]
		exit
	fi
	# Debian's postfix package, to install it again inside (no network there):
	# the package's trigger must put a later-installed postfix in the group
	if ! ls "$CACHE"/postfix_*.deb >/dev/null 2>&1; then
		(cd "$CACHE" && apt-get download -q postfix >"$CACHE/postfix-download.log" 2>&1)
	fi
	# the run's files (an overlay over the cached root) are removed once the
	# namespace, and its mounts and processes, are gone
	T=$(mktemp -d "$CACHE/run.XXXXXX") || ml_give_up "tmp"
	SM_STOCK_INNER=1 SM_STOCK_PASSED=$passed SM_STOCK_FAILED=$failed SM_STOCK_DEB=$(pwd)/$DEB SM_STOCK_T=$T \
	    unshare --net --mount --pid --fork --mount-proc sh "$0" "$BUILD"
	rc=$?
	[ -n "${SM_KEEP:-}" ] || rm -rf "$T"
	exit $rc
fi

# --- inside: a private net, mount and pid namespace; all processes die with it -
passed=$SM_STOCK_PASSED failed=$SM_STOCK_FAILED
# checkv NAME FILE CMD... - check, and on failure show the end of FILE (the command's output)
checkv() {
	_cv_name=$1 _cv_file=$2
	shift 2
	if "$@"; then ok "$_cv_name"; else fail "$_cv_name"; tail -n 20 "$_cv_file" 2>/dev/null | sed 's/^/    /'; fi
}
ip link set lo up || ml_give_up "loopback up"
T=$SM_STOCK_T
R=$T/root
mkdir -p "$T/upper" "$T/work" "$R"
mount -t overlay overlay -o "lowerdir=$CACHE/root,upperdir=$T/upper,workdir=$T/work" "$R" ||
	ml_give_up "overlay of the cached root"
mount -t proc proc "$R/proc" && mount --bind /dev "$R/dev" && mount -t tmpfs tmpfs "$R/run" &&
	mount -t tmpfs tmpfs "$R/tmp" || ml_give_up "mounts in the root"
in_root() { chroot "$R" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"; }

# 1. the package, as the README says: apt-get install ./shadowmilter_*.deb
cp "$SM_STOCK_DEB" "$R/tmp/" || ml_give_up "copy the .deb"
install_deb() { in_root sh -c 'cd /tmp && apt-get install -y -q ./shadowmilter_*.deb' >"$T/apt.log" 2>&1; }
checkv "apt-get install ./shadowmilter_*.deb (no network)" "$T/apt.log" install_deb
SMUID=$(in_root id -u shadowmilter 2>/dev/null)
SMGID=$(in_root id -g shadowmilter 2>/dev/null)
check "the package made the system user and group shadowmilter" \
    sh -c "[ -n '$SMUID' ] && [ '$SMUID' -lt 1000 ] && chroot '$R' getent group shadowmilter >/dev/null"
check "/var/lib/shadowmilter: shadowmilter, 0750" \
    test "$(stat -c '%u:%g %a' "$R/var/lib/shadowmilter" 2>/dev/null)" = "$SMUID:$SMGID 750"
check "the socket directory in Postfix's chroot: shadowmilter, 0750" \
    test "$(stat -c '%u:%g %a' "$R/var/spool/postfix/shadowmilter" 2>/dev/null)" = "$SMUID:$SMGID 750"
check "postfix is in the shadowmilter group" sh -c "in_groups=\$(chroot '$R' id -nG postfix) &&
    echo \" \$in_groups \" | grep -q ' shadowmilter '"
check "the config is a conffile" grep -qx /etc/shadowmilter/shadowmilter.conf "$R/var/lib/dpkg/info/shadowmilter.conffiles"
check "the unit is enabled" test -L "$R/etc/systemd/system/multi-user.target.wants/shadowmilter.service"
check "shadowmilter.path is enabled (starts the unit once the customer map exists)" \
    sh -c "[ -L '$R/etc/systemd/system/paths.target.wants/shadowmilter.path' ] &&
        grep -qx 'PathExists=/etc/shadowmilter/customers.csv' '$R/lib/systemd/system/shadowmilter.path'"
U=$R/lib/systemd/system/shadowmilter.service
doc_ok() {
	for d in $(sed -n 's/^Documentation=//p' "$U"); do
		case $d in
		file:*) [ -f "$R${d#file:}" ] || return 1 ;;
		man:*) p=${d#man:}; n=${p%%(*}; s=${p#*(}; s=${s%)}
			[ -f "$R/usr/share/man/man$s/$n.$s.gz" ] || return 1 ;;
		*) return 1 ;;
		esac
	done
	grep -q '^Documentation=' "$U" && [ -f "$R/usr/share/doc/shadowmilter/NEWS.gz" ]
}
check "the unit's Documentation= resolves (README, NEWS, man pages installed)" doc_ok
# the unit: User= is the state directory's owner and the config's UserID;
# systemd-analyze verify (the host's systemd, against the installed root) finds nothing wrong
unit_user=$(sed -n 's/^User=//p' "$U")
check "unit User= owns StateDirectory= and is the config's UserID" \
    sh -c "[ '$unit_user' = shadowmilter ] && grep -q '^StateDirectory=shadowmilter$' '$U' &&
        grep -qE '^UserID[[:space:]]+$unit_user\$' '$R/etc/shadowmilter/shadowmilter.conf'"
check "unit ReadWritePaths= covers the socket directory" \
    grep -qE '^ReadWritePaths=.*/var/spool/postfix/shadowmilter( |$)' "$U"
if command -v systemd-analyze >/dev/null 2>&1; then
	# --man=no: the host's man(1) cannot look into the root; doc_ok above found the pages
	verify() {
		systemd-analyze verify --man=no --root="$R" /lib/systemd/system/shadowmilter.service \
		    /lib/systemd/system/shadowmilter.path >"$T/verify.log" 2>&1 &&
		    ! grep -q 'shadowmilter\.' "$T/verify.log"
	}
	checkv "systemd-analyze verify: the unit and its .path are clean" "$T/verify.log" verify
else
	echo "SKIP systemd-analyze verify: systemd is not installed"
	skipped=1
fi
check "not started without a customer map (the unit's condition)" \
    sh -c "grep -qx 'ConditionPathExists=/etc/shadowmilter/customers.csv' '$U' && [ ! -e '$R/etc/shadowmilter/customers.csv' ] &&
        grep -qE '^CustomerMap[[:space:]]+/etc/shadowmilter/customers.csv$' '$R/etc/shadowmilter/shadowmilter.conf'"

# 2. what the admin configures: the customer map (local mailboxes for the
# test), the test DKIM key, the snippet pasted into main.cf
for u in acme bob carol dave ops; do
	in_root useradd -m "$u" || ml_give_up "user $u"
done
cat >"$R/etc/shadowmilter/customers.csv" <<'EOF'
prefix,account,email
192.0.2.0/24,acme,acme@localhost
192.0.2.64/29,bobs-vps,bob@localhost
198.51.100.0/25,carol,carol@localhost
2001:db8:100::/48,acme,acme@localhost
2001:db8:200::/48,dave,dave@localhost
EOF
cp tests/fixtures/dkim/keys "$R/etc/shadowmilter/test-public-keys"
echo "TestPublicKeys      /etc/shadowmilter/test-public-keys" >>"$R/etc/shadowmilter/shadowmilter.conf"
cat "$R/usr/share/shadowmilter/postfix-main.cf" >>"$R/etc/postfix/main.cf"
check "master.cf is Debian's, smtpd chrooted" sh -c "cmp -s '$R/etc/postfix/master.cf' '$R/usr/share/postfix/master.cf.dist' &&
    grep -qE '^smtp +inet +n +- +y +- +- +smtpd' '$R/etc/postfix/master.cf'"
check "the snippet's smtpd_milters names shadowmilter only, as smtpd sees it" \
    test "$(in_root postconf -h smtpd_milters)" = "unix:/shadowmilter/shadowmilter.sock"

# 3. Postfix as its unit starts it, then the daemon with the unit's own lines, as its User=
in_root /usr/lib/postfix/configure-instance.sh - >"$T/postfix.log" 2>&1
in_root postfix start >>"$T/postfix.log" 2>&1 || { cat "$T/postfix.log"; ml_give_up "postfix start"; }
ready_connect inet:25@127.0.0.1 60 || ml_give_up "postfix listens on 25"
as_unit() {	# the unit's KEY= line, run as the unit runs it
	cmd=$(sed -n "s/^$1=//p" "$U")
	chroot "$R" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 sh -c \
	    "umask $(sed -n 's/^UMask=//p' "$U"); exec setpriv --reuid=$unit_user \
	    --regid=$(sed -n 's/^Group=//p' "$U") --init-groups $cmd"
}
precheck() { as_unit ExecStartPre >"$T/n.log" 2>&1; }
checkv "ExecStartPre= (-n) passes on the configured package" "$T/n.log" precheck
as_unit ExecStart >"$T/daemon.log" 2>&1 &
SOCK=$R/var/spool/postfix/shadowmilter/shadowmilter.sock
checkv "the daemon listens on the default socket" "$T/daemon.log" ready_connect "unix:$SOCK" 60

# 4. mail: ordinary mail flows, a signed report makes notices in local mailboxes
mbox_count() { [ -f "$R/var/mail/$1" ] && grep -c '^From ' "$R/var/mail/$1" || echo 0; }
wait_mail() {	# wait_mail USER COUNT
	n=0
	while [ "$(mbox_count "$1")" -lt "$2" ]; do
		n=$((n + 1))
		[ "$n" -lt 600 ] || return 1
		sleep 0.1
	done
}
printf 'From: Alice <alice@example.org>\nTo: ops@localhost\nSubject: hello\nMessage-ID: <plain-1@example.org>\n\nordinary mail\n' >"$T/plain.eml"
swaks --server 127.0.0.1 --port 25 --from alice@example.org --to ops@localhost --data "$T/plain.eml" \
    >"$T/plain.swaks" 2>&1
checkv "ordinary mail gets 250" "$T/plain.swaks" grep -q '^<-  250 .*queued as' "$T/plain.swaks"
check "ordinary mail arrives" wait_mail ops 1
sed "s/^Message-ID: .*/Message-ID: <stock-debian-1@shadowserver.org>/" tests/fixtures/demo-portmapper.eml >"$T/report.unsigned"
"$BUILD/dkimsign" -k "$(pwd)/tests/fixtures/dkim/test.private" <"$T/report.unsigned" >"$T/report.eml" ||
	ml_give_up "dkimsign"
swaks --server 127.0.0.1 --port 25 --from autoreports@shadowserver.org --to ops@localhost --data "$T/report.eml" \
    >"$T/report.swaks" 2>&1
checkv "the signed report gets 250" "$T/report.swaks" grep -q '^<-  250 .*queued as' "$T/report.swaks"
for u in acme bob carol dave; do
	check "$u's notice arrives in the local mailbox" wait_mail "$u" 1
done
check "acme's notice lists acme's host and nobody else's" sh -c \
    "grep -q '^192.0.2.10:111 (UDP)' '$R/var/mail/acme' && ! grep -qE '192\\.0\\.2\\.(66|70)|198\\.51\\.100' '$R/var/mail/acme'"
wait_grep() {	# wait_grep PATTERN FILE
	n=0
	until grep -q "$1" "$2" 2>/dev/null; do
		n=$((n + 1))
		[ "$n" -lt 600 ] || return 1
		sleep 0.1
	done
}
check "the report reaches ops with the result" wait_grep '^X-Shadowmilter-Result: notices=4' "$R/var/mail/ops"
ls -ln "$R/var/lib/shadowmilter" >"$T/state.ls" 2>&1
checkv "the state files belong to shadowmilter" "$T/state.ls" sh -c \
    "[ -s '$R/var/lib/shadowmilter/shadowmilter.db' ] && [ -z \"\$(find '$R/var/lib/shadowmilter' ! -uid '$SMUID')\" ]"

# 5. Postfix installed after shadowmilter: the package's dpkg trigger on
# /usr/sbin/postfix puts the postfix user in the shadowmilter group (taken out
# first, as if postfix had come later)
in_root postfix stop >/dev/null 2>&1
POSTFIX_DEB=$(ls "$CACHE"/postfix_*.deb 2>/dev/null | head -n 1)
if [ -n "$POSTFIX_DEB" ]; then
	cp "$POSTFIX_DEB" "$R/tmp/postfix.deb"
	in_root gpasswd -d postfix shadowmilter >"$T/trigger.log" 2>&1
	check "... (postfix taken out of the group first)" sh -c "! chroot '$R' id -nG postfix | tr ' ' '\\n' | grep -qx shadowmilter"
	in_root dpkg -i /tmp/postfix.deb >>"$T/trigger.log" 2>&1
	in_group() { chroot "$R" id -nG postfix | tr ' ' '\n' | grep -qx shadowmilter; }
	checkv "postfix installed later is put in the shadowmilter group (dpkg trigger)" "$T/trigger.log" in_group
else
	echo "SKIP postfix installed later: no postfix .deb ($(tail -n 1 "$CACHE/postfix-download.log" 2>/dev/null))"
	skipped=$((${skipped:-0} + 1))
fi

# 6. dpkg --purge: no process left, the state kept as opendkim keeps its keys
in_root dpkg --purge shadowmilter >"$T/purge.log" 2>&1
checkv "dpkg --purge succeeds" "$T/purge.log" grep -q 'Purging configuration files for shadowmilter' "$T/purge.log"
left() { for p in /proc/[0-9]*; do [ "$(cat "$p/comm" 2>/dev/null)" = shadowmilter ] && echo "${p#/proc/}"; done; }
check "dpkg --purge leaves no process behind" test -z "$(left)"
check "purge keeps the state (as opendkim keeps its keys) and removes the config" \
    sh -c "[ -s '$R/var/lib/shadowmilter/shadowmilter.db' ] && [ ! -e '$R/etc/shadowmilter/shadowmilter.conf' ]"
in_root postfix stop >/dev/null 2>&1
echo "$passed passed, $failed failed, ${skipped:-0} skipped"
[ "$failed" -eq 0 ]
