# C = A·B for two integer matrices, in busybox awk (no other program in the image).
# Usage: awk -f /matmul.awk /in/a.txt /in/b.txt — one row per line, entries separated by spaces.
# Writes C to $IONET_OUTPUT_DIR/c.txt (default /out) in the same format, and one line to stdout
# with its size and two checksums. Integers stay exact while every entry and sum is below 2^53
# (awk's numbers are doubles): e.g. entries below 1000 and inner dimensions up to a few thousand.
FNR == 1 { file++ }
file == 1 { if (NF != acols && arows > 0) bad("a.txt", FNR); acols = NF; arows++; for (j = 1; j <= NF; j++) A[arows, j] = $j + 0; next }
file == 2 { if (NF != bcols && brows > 0) bad("b.txt", FNR); bcols = NF; brows++; for (j = 1; j <= NF; j++) B[brows, j] = $j + 0; next }
END {
  if (failed) exit 2
  if (arows == 0 || brows == 0) { print "need two non-empty matrices: /in/a.txt and /in/b.txt" > "/dev/stderr"; exit 2 }
  if (acols != brows) { print "cannot multiply " arows "x" acols " by " brows "x" bcols > "/dev/stderr"; exit 2 }
  dir = ENVIRON["IONET_OUTPUT_DIR"]; if (dir == "") dir = "/out"
  out = dir "/c.txt"
  sum = 0; trace = 0
  for (i = 1; i <= arows; i++) {
    line = ""
    for (j = 1; j <= bcols; j++) {
      c = 0
      for (k = 1; k <= acols; k++) c += A[i, k] * B[k, j]
      sum += c
      if (i == j) trace += c
      line = line (j > 1 ? " " : "") sprintf("%.0f", c)
    }
    print line > out
  }
  close(out)
  printf "C = A·B: %dx%d times %dx%d, sum of entries %.0f, trace %.0f, written to %s\n", arows, acols, brows, bcols, sum, trace, out
}
function bad (name, row) { print name " row " row " has a different number of entries than row 1" > "/dev/stderr"; failed = 1; exit 2 }
