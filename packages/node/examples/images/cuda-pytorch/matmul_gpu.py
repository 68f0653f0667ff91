"""C = A·B on the leased GPU: the numeric example's job (../numeric/matmul.awk), same input, output
and log line, computed in float64 on the GPU (exact: every product and partial sum is an integer
below 2^53), then a bf16 matmul throughput figure written to /out/gpu.txt.
Usage: python /matmul_gpu.py /in/a.txt /in/b.txt"""
import os
import sys
import time

import torch


def load(path: str) -> torch.Tensor:
    with open(path) as f:
        rows = [[int(x) for x in line.split()] for line in f if line.strip()]
    return torch.tensor(rows, dtype=torch.float64)


def main(a_path: str, b_path: str) -> int:
    if not torch.cuda.is_available():
        print("no GPU is visible in this container (was the job leased a GPU, and can the provider pass GPUs?)", file=sys.stderr)
        return 3
    device = torch.device("cuda")
    print(f"GPU: {torch.cuda.get_device_name(device)} ({torch.cuda.device_count()} visible)")
    a, b = load(a_path), load(b_path)
    if a.shape[1] != b.shape[0]:
        print(f"cannot multiply {a.shape[0]}x{a.shape[1]} by {b.shape[0]}x{b.shape[1]}", file=sys.stderr)
        return 2
    c = (a.to(device) @ b.to(device)).cpu().to(torch.int64)
    out_dir = os.environ.get("IONET_OUTPUT_DIR", "/out")
    out = os.path.join(out_dir, "c.txt")
    with open(out, "w") as f:
        for row in c.tolist():
            f.write(" ".join(str(x) for x in row) + "\n")
    print(f"C = A·B: {a.shape[0]}x{a.shape[1]} times {b.shape[0]}x{b.shape[1]}, "
          f"sum of entries {int(c.sum())}, trace {int(torch.trace(c))}, written to {out}")

    # Throughput: bf16 matmuls of 8192x8192, timed with CUDA events after a warm-up.
    n, reps = 8192, 20
    x = torch.randn(n, n, device=device, dtype=torch.bfloat16)
    y = torch.randn(n, n, device=device, dtype=torch.bfloat16)
    for _ in range(3):
        x @ y
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    start.record()
    for _ in range(reps):
        x @ y
    end.record()
    torch.cuda.synchronize()
    seconds = start.elapsed_time(end) / 1000
    tflops = 2 * n ** 3 * reps / seconds / 1e12
    with open(os.path.join(out_dir, "gpu.txt"), "w") as f:
        f.write(f"device {torch.cuda.get_device_name(device)}\nbf16 matmul {n}x{n}: {tflops:.1f} TFLOP/s over {reps} runs ({time.perf_counter() - t0:.2f} s)\n")
    print(f"bf16 matmul {n}x{n}: {tflops:.1f} TFLOP/s")
    return 0


if __name__ == "__main__":
    sys.exit(main(*(sys.argv[1:3] if len(sys.argv) >= 3 else ["/in/a.txt", "/in/b.txt"])))
