#!/usr/bin/env bash
# Which row locks do transactions wait on? Samples InnoDB's lock waits every 0.2 s for N seconds while a
# benchmark runs (in another terminal), then prints the waited-on locks, most frequent first.
#
#   bash benchmarks/lock-waits.sh 60 [mysql client options, default: -uroot]
#
# Needs a database account with the PROCESS privilege (the site's own user has not got it).
set -uo pipefail
seconds=${1:-60}
shift || true
[ "$#" -eq 0 ] && set -- -uroot
samples=$(mktemp)
end=$((SECONDS + seconds))
while [ "$SECONDS" -lt "$end" ]; do
	mysql "$@" -N -e "
		SELECT l.lock_table, l.lock_index, l.lock_mode, SUBSTRING(REPLACE(t.trx_query, '\n', ' '), 1, 120)
		FROM information_schema.INNODB_LOCK_WAITS w
		JOIN information_schema.INNODB_LOCKS l ON l.lock_id = w.requested_lock_id
		JOIN information_schema.INNODB_TRX t ON t.trx_id = w.requesting_trx_id" >>"$samples" 2>/dev/null
	sleep 0.2
done
echo "lock waits seen in $seconds s of samples every 0.2 s (count, table, index, mode, a waiting query):"
awk -F'\t' '{ key = $1 "\t" $2 "\t" $3; n[key]++; if (!(key in q)) q[key] = $4 }
	END { for (k in n) printf "%6d  %s\t%s\n", n[k], k, q[k] }' "$samples" | sort -rn | head -15
rm -f "$samples"
