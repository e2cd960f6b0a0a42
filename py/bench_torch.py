"""One PyTorch CPU measurement for `native-train bench`: prints a JSON line with the median
seconds and the process's peak resident memory.
Usage: python py/bench_torch.py CONFIG_JSON forward|train SIZE BATCH THREADS REPEATS [cpu|cuda]
On CUDA the peak memory is the GPU's (torch.cuda.max_memory_allocated), not the process's."""
import json
import resource
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from ffrnet_torch import FfrNet, segmentation_loss  # noqa: E402


def main():
    cfg = json.loads(Path(sys.argv[1]).read_text())
    mode, size, batch, threads, repeats = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
    device = torch.device(sys.argv[7] if len(sys.argv) > 7 else "cpu")
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = FfrNet(cfg).to(device)
    x = torch.rand(batch, cfg["in_channels"], size, size, device=device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    times = []
    if mode == "forward":
        model.eval()
        with torch.no_grad():
            for _ in range(repeats + 1):
                t0 = time.perf_counter()
                model(x)
                sync()
                times.append(time.perf_counter() - t0)
    else:
        model.train()
        opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-8)
        y = (torch.rand(batch, size, size, device=device) > 0.7).long()
        d = torch.zeros(batch, size, size, device=device)
        for _ in range(repeats + 1):
            t0 = time.perf_counter()
            opt.zero_grad()
            loss = segmentation_loss(model(x), y, d, d)
            loss.backward()
            opt.step()
            sync()
            times.append(time.perf_counter() - t0)
    if device.type == "cuda":
        peak_mb = torch.cuda.max_memory_allocated(device) / 2**20
    else:
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": statistics.median(times[1:]), "peak_mb": peak_mb, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
