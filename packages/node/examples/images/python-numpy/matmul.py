"""C = A·B with numpy: the numeric example's job (../numeric/matmul.awk), same input, output and
log line, in a Python image. Usage: python3 /matmul.py /in/a.txt /in/b.txt"""
import os
import sys

import numpy as np


def main(a_path: str, b_path: str) -> int:
    a = np.loadtxt(a_path, dtype=np.int64, ndmin=2)
    b = np.loadtxt(b_path, dtype=np.int64, ndmin=2)
    if a.shape[1] != b.shape[0]:
        print(f"cannot multiply {a.shape[0]}x{a.shape[1]} by {b.shape[0]}x{b.shape[1]}", file=sys.stderr)
        return 2
    c = a @ b
    out = os.path.join(os.environ.get("IONET_OUTPUT_DIR", "/out"), "c.txt")
    np.savetxt(out, c, fmt="%d", delimiter=" ")
    print(f"C = A·B: {a.shape[0]}x{a.shape[1]} times {b.shape[0]}x{b.shape[1]}, "
          f"sum of entries {int(c.sum())}, trace {int(np.trace(c))}, written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*(sys.argv[1:3] if len(sys.argv) >= 3 else ["/in/a.txt", "/in/b.txt"])))
