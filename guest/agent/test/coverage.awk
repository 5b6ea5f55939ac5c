# Summarises `gcov -n` output: one line per agent source, then the total.
/^File '[a-z_]+\.c'/ { file = $2; gsub("'", "", file); next }
file != "" && /^Lines executed:/ {
	split($2, a, "%"); pct = substr(a[1], 10); n = $4
	hit = int(pct * n / 100 + 0.5)
	printf "  %-12s %6.1f%% of %4d lines\n", file, pct, n
	total += n; covered += hit; file = ""
}
END { if (total) printf "  %-12s %6.1f%% of %4d lines\n", "agent total", 100 * covered / total, total }
