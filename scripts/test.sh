#!/usr/bin/env bash
# All tests of accumulating_billing: the pure engine (pytest, fresh virtualenv), then - when a bench with
# ERPNext exists at ${BENCH_DIR:-/opt/frappe-bench} - the integration tests and the real-browser tests
# (browser_tests/, Playwright + Debian's Chromium; screenshots in ${AB_SCREENSHOTS:-/tmp/ab-screenshots}) on a
# fresh throwaway site.
# Ends with one line "N passed, N failed, N skipped" covering all parts (a skipped test never counts as passed).
# Installs the payments app on the throwaway site when the bench has it. Exits non-zero on any failure.
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bench_dir=${BENCH_DIR:-/opt/frappe-bench}
db_user=${AB_DB_ROOT_USER:-ab_root}
db_pass=${AB_DB_ROOT_PASSWORD:-ab_root}
work=$(mktemp -d /tmp/ab-test.XXXXXX)
passed=0
failed=0
skipped=0
status=0

count() { # $1 = pytest/unittest output file; adds to passed/failed
	local p f e
	p=$(grep -Eo '[0-9]+ passed' "$1" | tail -1 | grep -Eo '[0-9]+' || true)
	f=$(grep -Eo '[0-9]+ failed' "$1" | tail -1 | grep -Eo '[0-9]+' || true)
	e=$(grep -Eo '[0-9]+ error' "$1" | tail -1 | grep -Eo '[0-9]+' || true)
	s=$(grep -Eo '[0-9]+ skipped' "$1" | tail -1 | grep -Eo '[0-9]+' || true)
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0} + ${e:-0}))
	skipped=$((skipped + ${s:-0}))
}

echo "== engine tests (pytest, fresh virtualenv)"
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q -r "$repo/tests/requirements.txt" >"$work/pip.log" 2>&1 || { cat "$work/pip.log"; exit 1; }
(cd "$repo" && "$work/venv/bin/python" -m pytest -q -p no:cacheprovider tests) 2>&1 | tee "$work/engine.log"
engine_rc=${PIPESTATUS[0]}
count "$work/engine.log"
if [ "$engine_rc" -ne 0 ]; then status=1; fi
if ! grep -Eq '[0-9]+ passed' "$work/engine.log"; then echo "engine tests: no test ran"; status=1; failed=$((failed + 1)); fi

bench_bin=$(command -v bench || true)
if [ ! -d "$bench_dir/apps/erpnext" ] || [ -z "$bench_bin" ]; then
	echo "integration tests skipped: no bench at $bench_dir"
	echo "browser tests skipped: no bench at $bench_dir"
else
	echo "== integration tests on the bench at $bench_dir"
	site="ab-ci-$(date +%s)-$$.localhost"
	frappe_user=$(python3 -c "import json,sys;print(json.load(open(sys.argv[1])).get('frappe_user',''))" \
		"$bench_dir/sites/common_site_config.json" 2>/dev/null || true)
	run_bench() { (cd "$bench_dir" && "$bench_bin" "$@"); }

	# the database: utf8mb4_unicode_ci and an admin user bench can use non-interactively
	mysql -uroot -e "SET GLOBAL character_set_server='utf8mb4'; SET GLOBAL collation_server='utf8mb4_unicode_ci';" 2>/dev/null || true
	mysql -uroot -e "CREATE USER IF NOT EXISTS '$db_user'@'localhost' IDENTIFIED BY '$db_pass';
		CREATE USER IF NOT EXISTS '$db_user'@'127.0.0.1' IDENTIFIED BY '$db_pass';
		GRANT ALL PRIVILEGES ON *.* TO '$db_user'@'localhost' WITH GRANT OPTION;
		GRANT ALL PRIVILEGES ON *.* TO '$db_user'@'127.0.0.1' WITH GRANT OPTION;" 2>/dev/null || true

	# install this checkout into the bench
	# install this checkout into the bench: kept when the bench's app is a link to this checkout that the bench's
	# user may write (bench generate-pot-file writes locale/main.pot as that user), else a copy owned by that user
	target="$bench_dir/apps/accumulating_billing"
	writable=1
	if [ -n "$frappe_user" ] && [ "$(id -u)" = 0 ] && ! runuser -u "$frappe_user" -- test -w "$repo/accumulating_billing/locale"; then
		writable=""
	fi
	if [ "$(readlink -f "$target" 2>/dev/null)" != "$repo" ] || [ -z "$writable" ]; then
		rm -rf "$target"
		mkdir -p "$target"
		(cd "$repo" && git ls-files -z --cached --others --exclude-standard | xargs -0 -I{} cp --parents {} "$target/")
		[ -n "$frappe_user" ] && chown -R "$frappe_user:$frappe_user" "$target"
	fi
	grep -qx accumulating_billing "$bench_dir/sites/apps.txt" || printf '\naccumulating_billing\n' >>"$bench_dir/sites/apps.txt"
	sed -i '/^$/d' "$bench_dir/sites/apps.txt"
	# the bench's own pip first (it honours the machine's certificates); uv only for an env without pip
	if [ -x "$bench_dir/env/bin/pip" ]; then
		"$bench_dir/env/bin/pip" install -q -e "$target" >"$work/install.log" 2>&1
	else
		uv pip install -q --native-tls --python "$bench_dir/env/bin/python" -e "$target" >"$work/install.log" 2>&1
	fi || { cat "$work/install.log"; exit 1; }

	# real-browser tests (browser_tests/): Playwright of the bench env driving Debian's Chromium (never a
	# downloaded browser) against this site served by `bench serve`; screenshots go to $screenshots
	run_browser_tests() {
		local chromium=${AB_CHROMIUM:-/usr/bin/chromium} py="$bench_dir/env/bin/python"
		local screenshots=${AB_SCREENSHOTS:-/tmp/ab-screenshots}
		echo "== browser tests (Playwright + $chromium)"
		if [ ! -x "$chromium" ]; then
			echo "browser tests skipped: no chromium at $chromium"; return
		fi
		if ! "$py" -c "import playwright.sync_api" >/dev/null 2>&1; then
			echo "browser tests skipped: no playwright in the bench env"; return
		fi
		if ! "$py" -c "import pytest" >/dev/null 2>&1; then
			local as_owner=()
			[ "$(id -u)" = 0 ] && [ -n "$frappe_user" ] && as_owner=(runuser -u "$frappe_user" --)
			${as_owner[@]+"${as_owner[@]}"} "$bench_dir/env/bin/pip" install -q pytest >"$work/pip-pytest.log" 2>&1 \
				|| { cat "$work/pip-pytest.log"; echo "browser tests: could not install pytest"; failed=$((failed + 1)); status=1; return; }
		fi
		(cd "$repo" && AB_BROWSER_SITE="$site" AB_BROWSER_URL= BENCH_DIR="$bench_dir" AB_ADMIN_PASSWORD=admin \
			AB_CHROMIUM="$chromium" AB_SCREENSHOTS="$screenshots" \
			"$py" -m pytest -q -p no:cacheprovider -rsx browser_tests) 2>&1 | tee "$work/browser.log"
		local rc=${PIPESTATUS[0]}
		count "$work/browser.log"
		if [ "$rc" -ne 0 ]; then status=1; fi
		if ! grep -Eq '[0-9]+ passed' "$work/browser.log"; then
			echo "browser tests: no test passed"; status=1; failed=$((failed + 1))
		fi
		echo "browser screenshots in $screenshots:"
		ls -1 "$screenshots"/test_*.png 2>/dev/null | sed 's/^/  /'
	}

	# translations: the catalogue Frappe extracts on this bench is the committed locale/main.pot (the bench-less
	# check in tests/ extracts the same way; this proves it still does)
	check_catalogue() {
		local pot="$target/accumulating_billing/locale/main.pot" made_git=""
		echo "== translations: bench generate-pot-file against locale/main.pot"
		cp "$pot" "$work/main.pot.committed"
		# Frappe skips the git-ignored folders through git: a copied app gets a throwaway repository
		if [ ! -e "$target/.git" ]; then git -C "$target" init -q && made_git=1; fi
		if (cd "$bench_dir" && GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=safe.directory GIT_CONFIG_VALUE_0='*' \
			"$bench_bin" generate-pot-file --app accumulating_billing) >"$work/pot.log" 2>&1 \
			&& "$work/venv/bin/python" "$repo/scripts/translations.py" compare "$work/main.pot.committed" "$pot"; then
			passed=$((passed + 1)); echo "main.pot is what bench generate-pot-file writes: ok"
		else
			tail -20 "$work/pot.log"; failed=$((failed + 1)); status=1; echo "main.pot: FAILED"
		fi
		cp "$work/main.pot.committed" "$pot"
		[ -n "$made_git" ] && rm -rf "$target/.git"
	}

	# the newcomer's first commands (README, Try it) on a brand-new site of their own, whose ERPNext setup wizard
	# never ran: the demo completes ERPNext's setup itself and bills; run again it adds nothing; --remove removes it.
	# About 4 minutes (most of it new-site); AB_SKIP_NEWCOMER=1 skips it (counted as skipped)
	newcomer_site=""
	check_newcomer() {
		local logs=("$work/newcomer-site.log" "$work/newcomer-demo.log" "$work/newcomer-again.log" "$work/newcomer-remove.log")
		echo "== the newcomer's first commands: new-site with ERPNext and the app, then the demo"
		if [ -n "${AB_SKIP_NEWCOMER:-}" ]; then
			echo "newcomer check skipped: AB_SKIP_NEWCOMER is set"; skipped=$((skipped + 1)); return
		fi
		newcomer_site="ab-newcomer-$(date +%s)-$$.localhost"
		if run_bench new-site "$newcomer_site" --db-root-username "$db_user" --db-root-password "$db_pass" \
				--admin-password admin --db-host 127.0.0.1 --install-app erpnext --install-app accumulating_billing \
				>"${logs[0]}" 2>&1 \
			&& run_bench --site "$newcomer_site" accumulating-billing demo >"${logs[1]}" 2>&1 \
			&& grep -q "ERPNext's setup was never run on this site: setting it up with company Demo Company" "${logs[1]}" \
			&& grep -Eq "^[0-9]+ invoices \(" "${logs[1]}" \
			&& [ "$(run_bench --site "$newcomer_site" execute frappe.is_setup_complete 2>/dev/null | tail -1)" = "true" ] \
			&& run_bench --site "$newcomer_site" accumulating-billing demo >"${logs[2]}" 2>&1 \
			&& grep -q "nothing new (the demo was there)" "${logs[2]}" && ! grep -q "setting it up" "${logs[2]}" \
			&& run_bench --site "$newcomer_site" accumulating-billing demo --remove >"${logs[3]}" 2>&1 \
			&& grep -q "Demo removed" "${logs[3]}"; then
			passed=$((passed + 1)); echo "newcomer: new site set up by the demo, billed, idempotent, removed: ok"
		else
			for log in "${logs[@]}"; do [ -f "$log" ] && { echo "-- $log"; tail -15 "$log"; }; done
			failed=$((failed + 1)); status=1; echo "newcomer: FAILED"
		fi
		drop_newcomer
	}
	drop_newcomer() {
		[ -n "$newcomer_site" ] || return 0
		run_bench drop-site "$newcomer_site" --db-root-username "$db_user" --db-root-password "$db_pass" --force --no-backup >/dev/null 2>&1 || true
		newcomer_site=""
	}

	cleanup_site() {
		run_bench drop-site "$site" --db-root-username "$db_user" --db-root-password "$db_pass" --force --no-backup >/dev/null 2>&1 || true
		drop_newcomer
	}
	trap cleanup_site EXIT
	echo "creating throwaway site $site (ERPNext + accumulating_billing)"
	if ! run_bench new-site "$site" --db-root-username "$db_user" --db-root-password "$db_pass" --admin-password admin \
		--db-host 127.0.0.1 --install-app erpnext >"$work/new-site.log" 2>&1; then
		tail -40 "$work/new-site.log"; echo "could not create the test site"; exit 1
	fi
	# the payments app (Payment Gateway, online payments) when the bench has it: the pay-link tests need it,
	# and are skipped (and counted as skipped) without it
	if [ -d "$bench_dir/apps/payments" ]; then
		if run_bench --site "$site" install-app payments >"$work/install-payments.log" 2>&1; then
			echo "payments app: installed on the test site"
		else
			tail -20 "$work/install-payments.log"; echo "payments app: could not be installed"; failed=$((failed + 1)); status=1
		fi
	else
		echo "payments app: not on this bench (bench get-app payments); the pay-link tests are skipped"
	fi
	if ! run_bench --site "$site" install-app accumulating_billing >"$work/install-app.log" 2>&1; then
		tail -40 "$work/install-app.log"; failed=$((failed + 1)); status=1
	else
		run_bench --site "$site" set-config allow_tests true >/dev/null
		# the suite creates users faster than Frappe's 60-a-minute guard allows a real site
		run_bench --site "$site" set-config --parse throttle_user_limit 100000 >/dev/null
		run_bench --site "$site" run-tests --app accumulating_billing --skip-test-records 2>&1 | tee "$work/integration.log"
		it_rc=${PIPESTATUS[0]}
		ran=$(grep -Eo '^Ran [0-9]+ test' "$work/integration.log" | tail -1 | grep -Eo '[0-9]+' || echo 0)
		bad=$(grep -Eo '(failures|errors)=[0-9]+' "$work/integration.log" | grep -Eo '[0-9]+' | paste -sd+ | bc 2>/dev/null || echo 0)
		bad=${bad:-0}
		it_skipped=$(grep -Eo 'skipped=[0-9]+' "$work/integration.log" | tail -1 | grep -Eo '[0-9]+' || echo 0)
		it_skipped=${it_skipped:-0}
		if [ "$ran" -eq 0 ]; then echo "integration tests: no test ran"; bad=$((bad + 1)); fi
		if [ "$it_rc" -ne 0 ] && [ "$bad" -eq 0 ]; then bad=1; fi
		ok=$((ran - it_skipped - bad))
		passed=$((passed + (ok > 0 ? ok : 0)))
		failed=$((failed + bad))
		skipped=$((skipped + it_skipped))
		[ "$bad" -ne 0 ] && status=1
		echo "integration tests: $ran ran, $bad failed or errored, $it_skipped skipped"

		run_browser_tests

		check_catalogue

		echo "== migrate twice, then uninstall"
		if run_bench --site "$site" migrate >"$work/migrate1.log" 2>&1 && run_bench --site "$site" migrate >"$work/migrate2.log" 2>&1; then
			passed=$((passed + 1)); echo "migrate twice: ok"
		else
			tail -30 "$work/migrate2.log" "$work/migrate1.log"; failed=$((failed + 1)); status=1; echo "migrate: FAILED"
		fi
		if run_bench --site "$site" uninstall-app accumulating_billing --yes --no-backup --force >"$work/uninstall.log" 2>&1 \
			&& left=$(run_bench --site "$site" execute frappe.db.count \
				--args "['Custom Field', {'fieldname': ['like', 'accumulating%']}]" 2>/dev/null | tail -1) \
			&& [ -z "$left" ] || [ "$left" = "0" ]; then # execute prints nothing for 0
			passed=$((passed + 1)); echo "uninstall removes the custom fields: ok"
		else
			tail -30 "$work/uninstall.log"; failed=$((failed + 1)); status=1; echo "uninstall: FAILED"
		fi
	fi

	check_newcomer
fi

rm -rf "$work"
echo "$passed passed, $failed failed, $skipped skipped"
exit $status
