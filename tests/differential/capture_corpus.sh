#!/bin/bash
# Captures the remote commands the REAL rsync client sends, for the differential test.
#
# Usage: tests/differential/capture_corpus.sh [OUTPUT]   (default tests/data/corpus/client_commands.txt)
#
# rsync runs its remote shell (-e PROG) as `PROG [shell opts] [-l user] HOST rsync --server ...`; ssh
# joins every word after the host with single spaces and sshd hands that string to the forced command
# as SSH_ORIGINAL_COMMAND (ssh.c builds the command with "%s%s", i ? " " : "", av[i]). The capture
# program below does exactly that join, appends the result to a file and exits 255, so the client stops
# before any transfer. Nothing is sent anywhere and nothing outside a temp dir is written.
#
# Output format (read by tests/differential/corpus.cc):
#   - lines starting with '#' are comments; the comment right above a command is the client command
#     line that first produced it (duplicates are dropped, the first client line is kept);
#   - a command containing a newline or carriage return (a file name with one) cannot sit on one
#     line: it is written as `@esc ` followed by the command with '\' -> '\\', LF -> '\n',
#     CR -> '\r'; the runner decodes it. A command ending in a space is written the same way with
#     its trailing spaces as '\x20', so no editor or whitespace check can strip them;
#   - the literal text @DIR@ in a remote path stands for the restricted directory's real absolute
#     path, which only the runner knows (it differs per run); it exercises -absolute.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$repo/tests/data/corpus/client_commands.txt}
rsync_bin=${RSYNC_CLIENT:-/usr/bin/rsync}

work=$(mktemp -d /tmp/rrsync-capture.XXXXXX)
trap 'rm -rf "$work"' EXIT

# The capture program. HOST is the sentinel "capturehost"; everything before it is remote-shell
# options (-p 22, -l user, -o ...), everything after it is the remote command.
cat > "$work/capture" <<'PROG'
#!/bin/bash
while [ $# -gt 0 ]; do a=$1; shift; [ "$a" = capturehost ] && break; done
IFS=' '
cmd="$*"
case "$cmd" in
  *$'\n'* | *$'\r'* | *' ')
    cmd=${cmd//\\/\\\\}; cmd=${cmd//$'\n'/\\n}; cmd=${cmd//$'\r'/\\r}
    trail=''
    while [ "${cmd% }" != "$cmd" ]; do cmd=${cmd% }; trail="$trail\\x20"; done
    cmd="@esc $cmd$trail" ;;
esac
printf '%s\n' "$cmd" >> "$CAPTURE_OUT"
exit 255
PROG
chmod 755 "$work/capture"

# Local side of the transfers: sources for pushes, a destination for pulls, lists for --files-from.
mkdir -p "$work/src/sub" "$work/dst"
echo data > "$work/src/file.txt"
echo data > "$work/src/sub/inner.txt"
printf 'file.txt\nsub/inner.txt\n' > "$work/list"
cd "$work"

export CAPTURE_OUT="$work/captured"
: > "$CAPTURE_OUT"
H=capturehost
declare -A seen=()
tmp_out="$work/corpus"
{
  echo "# Remote commands captured from the real rsync client ($("$rsync_bin" --version | head -1 | sed 's/  */ /g'))"
  echo "# by tests/differential/capture_corpus.sh: one SSH_ORIGINAL_COMMAND per line; see that script for"
  echo "# the format (comments, @esc, @DIR@). Regenerate with the script; do not edit by hand."
} > "$tmp_out"

captured=0
nothing=0
# run CLIENT-ARGS...: runs the client once with the capture program as its remote shell (unless the
# arguments bring their own -e) and files what it sent.
run() {
  local has_e=0 a
  for a in "$@"; do case "$a" in -e|-e*|--rsh=*|--rsh) has_e=1 ;; esac; done
  : > "$CAPTURE_OUT"
  if [ $has_e = 1 ]; then
    "$rsync_bin" "$@" < /dev/null > /dev/null 2>&1 || true
  else
    "$rsync_bin" -e "$work/capture" "$@" < /dev/null > /dev/null 2>&1 || true
  fi
  local shown
  shown="rsync $(printf '%q ' "$@")"
  shown=${shown% }
  shown=${shown//$work\//}
  if [ ! -s "$CAPTURE_OUT" ]; then
    nothing=$((nothing + 1))
    echo "capture_corpus: no remote command from: $shown" >&2
    return 0
  fi
  local line
  while IFS= read -r line; do
    [ -n "${seen[$line]+x}" ] && continue
    seen[$line]=1
    captured=$((captured + 1))
    printf '# %s\n%s\n' "$shown" "$line" >> "$tmp_out"
  done < "$CAPTURE_OUT"
}

# Option combinations, each captured as a pull from /sub/ and a push into sub/.
opts=(
  "-a" "-av" "-avv" "-avz" "-aHAXS" "-rlt" "-r" "-d" "-aHx --numeric-ids" "-rltD --no-p --no-o"
  "-a --delete" "-a --del" "-a --delete-before" "-a --delete-during" "-a --delete-delay"
  "-a --delete-after" "-a --delete --delete-excluded --exclude=*.o" "-a --delete-missing-args"
  "-a --ignore-missing-args" "-a --max-delete=10" "-a --force"
  "-a --partial" "-aP" "-a --partial-dir=.rsync-partial" "-a --partial-dir=/part"
  "-a --partial-dir=../up" "-a --delay-updates"
  "-ab" "-a -b --suffix=.old" "-a -b --backup-dir=bak" "-a --backup-dir=/bak/2026"
  "-a --backup-dir=../bak"
  "-a --link-dest=/prev" "-a --link-dest=prev" "-a --link-dest=../prev"
  "-a --link-dest=/prev --link-dest=/prev2" "-a --compare-dest=/cmp" "-a --copy-dest=cp"
  "-a --temp-dir=/tmpd" "-a -T ../tmp"
  "-a --files-from=list" "-a --files-from=$H:/list" "-a --files-from=$H:list" "-a --files-from=-"
  "-a --files-from=- --from0" "-a -M--log-file=/rr.log" "-a -M--log-file=../rr.log"
  "-a -M--debug=all" "-a -M--debug=FLIST2" "-a --remote-option=--fsync"
  "-a --inplace" "-a --append" "-a --append-verify" "-a --remove-source-files"
  "-a --ignore-existing" "-a --existing" "-a --update" "-a --bwlimit=100" "-a --bwlimit=1m"
  "-a --info=progress2" "-a --info=stats2,name0" "-a --chmod=Du+rwx,Fgo-w" "-a --iconv=utf8,latin1"
  "-a --protect-args" "-as" "-a --old-args" "-aL" "-aK" "-ak" "-a --copy-unsafe-links"
  "-a --safe-links" "-a --munge-links" "-a --checksum-choice=xxh64" "-ac --cc=md5"
  "-a --compress-choice=zstd --compress-level=3" "-az --skip-compress=gz/jpg" "-a --old-compress"
  "-a --new-compress" "-a --max-size=1M --min-size=1" "-a --timeout=30" "-a --contimeout=5"
  "-a -W" "-a --no-W" "-an" "-a --list-only" "-a --size-only" "-aI" "-a --modify-window=2"
  "-a -@2" "-a --fuzzy" "-ayy" "-a --fsync" "-a --mkpath" "-aU" "-a --open-noatime" "-rogp"
  "-a --super" "-a --fake-super" "-a --usermap=a:b --groupmap=c:d" "-a --chown=a:b" "-a --stats"
  "-ah" "-a --blocking-io" "-a --ignore-errors" "-a --no-implied-dirs" "-am"
  "-a --max-alloc=1G" "-a --preallocate" "-aS" "-a --checksum-seed=1" "-a -B1024"
  "-a --block-size=2048" "-a --msgs2stderr" "-a --no-msgs2stderr" "-a --stderr=errors"
  "-a -M--copy-devices" "-a -M--write-devices" "-a -M--no-munge-links" "-a -M--daemon"
  "-a --log-file-format=%n" "-a -O -J" "-a -E" "-a --executability --acls --xattrs"
  "-a --one-file-system" "-a --specials --devices" "-a --no-specials" "-a --use-qsort"
  "-a -i" "-a --out-format=%n" "-a --early-input=list" "-aR" "-a --no-relative"
  "-a --no-r -d" "-a --usermap=:nobody" "-vvvv -a --debug=ALL4" "-a --trust-sender"
  "-a --copy-as=nobody" "-a -8" "-a --outbuf=L" "-a --8-bit-output"
)
for o in "${opts[@]}"; do
  # shellcheck disable=SC2086  # each entry is a list of words on purpose
  run $o "$H:/sub/" dst/
  # shellcheck disable=SC2086
  run $o src/ "$H:sub/"
done

# Path shapes, as pulled sources and pushed destinations, with plain, --relative and --old-args
# quoting. $'\n' names end up as @esc lines. The tildes are literal on purpose: a remote path
# "~/x" is the client's business to pass through, and ours to refuse or accept as upstream does.
# shellcheck disable=SC2088
shapes=(
  "/" "/sub/" "sub" "sub/" "sub/." "." "" "/." "//sub" "./sub" "sub//inner.txt" "sub/inner.txt"
  "name with spaces.txt" "sp ace dir/" "quote'file" 'dq"file' "star*" "*.txt" "sub/*" "[a-c]*.txt"
  "?ile.txt" "{a,b}.txt" "{a,b" "-dashfile" "--dashdash" "-e.txt" "ü.txt" "日本語 名.txt"
  ".." "../outside" "sub/../.." "/.." "/../outside/secret.txt" "sub/../file.txt" "..." "..foo"
  "@DIR@" "@DIR@/" "@DIR@/sub/" "@DIR@/../outside" "/etc/passwd" "//etc/passwd"
  "/./sub/inner.txt" "sub/./inner.txt" "sub/./" "/./" "~" "~/x" "~root" "a\$b" 'back\slash'
  $'tab\tname' $'new\nline' $'cr\rname' "link_in/" "link_in" "link_out" "link_out/"
  "link_abs_out/secret.txt" "dangling" "fifo" ".hidden" "semi;colon" "\$(id)" "\`id\`" "a&b"
  "a|b" "x>y" "x<y" "a b  c" " leading" "trailing " "#hash" "=eq" "a=b" "%p" "*" "/*" "**/x"
)
for s in "${shapes[@]}"; do
  run -a "$H:$s" dst/
  run -aR "$H:$s" dst/
  run -a --old-args "$H:$s" dst/
  run -a src/file.txt "$H:$s"
done

# Several remote sources in one pull (the later ones may drop the host).
run -a "$H:file.txt" ":sub/" ":name with spaces.txt" dst/
run -a "$H:/sub/inner.txt" "$H:/file.txt" dst/
run -aR "$H:/./sub/inner.txt" ":/sub/./deeper" dst/
run -a --old-args "$H:file.txt sub/inner.txt" dst/
run -a "$H:*.txt" ":{a,b}.txt" ":sub/*" dst/
run -a --files-from=list "$H:/" dst/
run -a --files-from=list src/ "$H:/"
run -a --files-from="$H:/list" -r "$H:/" dst/
run -a --files-from="$H:/list" src/ "$H:/sub/"

# Remote-shell spellings and user names: none of this reaches the command except --rsync-path.
run -a -e "$work/capture -p 2222 -o BatchMode=yes" "$H:/sub/" dst/
run -a -e "$work/capture -l someone" "$H:/sub/" dst/
run -a "someone@$H:/sub/" dst/
run -a --rsh="$work/capture -4" src/ "$H:sub/"
run -a --rsync-path="sudo rsync" "$H:/sub/" dst/
run -a --rsync-path="/usr/bin/rsync" "$H:/sub/" dst/
run -a --rsync-path="rsync --fake-super" src/ "$H:sub/"
run -a --rsync-path="cd /tmp && rsync" "$H:/sub/" dst/

mkdir -p "$(dirname "$out")"
cp "$tmp_out" "$out"
echo "capture_corpus: $captured distinct commands written to $out ($nothing client runs sent nothing)" >&2
