"""Checks that burn's FFRNet computes the same network as the PyTorch reference.

Reads a dump written by `native-train parity` (weights in burn's safetensors names, real MedSeg
inputs, eval-mode logits, one training step's loss and gradients) and compares:
  - eval logits: ||burn - torch|| / ||torch|| < 1e-4, identical argmax masks;
  - training step (batch-statistics BatchNorm, CE + Dice + SCR): loss to 1e-3 relative, and every
    parameter gradient to 1e-3 relative of the float64 reference, or, where float32 arithmetic
    itself cannot get that close (PyTorch float32 is measured on the same step), within twice
    PyTorch float32's own distance.
Usage: python py/parity.py DUMP_DIR
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file

sys.path.insert(0, str(Path(__file__).parent))
from ffrnet_torch import FfrNet, burn_to_torch, segmentation_loss, trainable_params  # noqa: E402


def rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm().clamp_min(1e-30))


def load(dump: Path):
    meta = json.loads((dump / "meta.json").read_text())
    cfg = meta["config"]
    n, s, c = meta["n"], cfg["input_size"], cfg["in_channels"]
    f32 = lambda name, shape: torch.from_numpy(np.fromfile(dump / name, dtype="<f4").reshape(shape).copy())
    return meta, cfg, {
        "input": f32("input.bin", (n, c, s, s)),
        "target": f32("target.bin", (n, s, s)).long(),
        "inside": f32("inside.bin", (n, s, s)),
        "outside": f32("outside.bin", (n, s, s)),
        "logits_eval": f32("logits_eval.bin", (n, cfg["classes"], s, s)),
        "logits_train": f32("logits_train.bin", (n, cfg["classes"], s, s)),
    }


def main(dump: Path) -> int:
    torch.manual_seed(0)
    meta, cfg, t = load(dump)
    model = FfrNet(cfg).double()
    weights = {burn_to_torch(k): v for k, v in load_file(str(dump / "weights.safetensors")).items()}
    state = model.state_dict()
    missing = [k for k in state if k not in weights and not k.endswith("num_batches_tracked")]
    unused = [k for k in weights if k not in state]
    assert not missing and not unused, f"name mapping: missing {missing[:5]}, unused {unused[:5]}"
    model.load_state_dict({k: weights.get(k, v).double() if k in weights else v for k, v in state.items()})
    assert trainable_params(model) == meta["parameters"], (trainable_params(model), meta["parameters"])
    failures = []

    def check(ok: bool, what: str) -> None:
        print(("ok   " if ok else "FAIL ") + what)
        if not ok:
            failures.append(what)

    # Eval mode (running statistics); torch in float64 is the reference.
    model.eval()
    with torch.no_grad():
        ref = model(t["input"].double())
    r = rel(t["logits_eval"].double(), ref)
    check(r < 1e-4, f"eval logits: ||burn - torch|| / ||torch|| = {r:.2e} (< 1e-4)")
    same = bool((t["logits_eval"].argmax(1) == ref.argmax(1)).all())
    diff = int((t["logits_eval"].argmax(1) != ref.argmax(1)).sum())
    check(same, f"argmax masks identical ({diff} pixels differ)")

    # One training step: batch statistics, the combined loss, gradients. The reference is float64;
    # PyTorch's own float32 run shows how far float32 arithmetic can be from it per tensor.
    w = meta["weights"]

    def step(dtype):
        m = FfrNet(cfg).to(dtype)
        m.load_state_dict({k: weights[k].to(dtype) if k in weights else v for k, v in m.state_dict().items()})
        m.train()
        logits = m(t["input"].to(dtype))
        loss = segmentation_loss(logits, t["target"], t["inside"].to(dtype), t["outside"].to(dtype), w["ce"], w["dice"], w["scr"])
        loss.backward()
        return logits.detach(), loss.item(), {n: p.grad for n, p in m.named_parameters()}

    logits, loss, g64 = step(torch.float64)
    _, _, g32 = step(torch.float32)
    r = rel(t["logits_train"].double(), logits)
    check(r < 1e-4, f"train-mode logits: relative difference {r:.2e}")
    r = abs(meta["loss"] - loss) / abs(loss)
    check(r < 1e-3, f"loss: burn {meta['loss']:.6f}, torch {loss:.6f} (relative {r:.1e})")
    grads = {burn_to_torch(k): v for k, v in load_file(str(dump / "grads.safetensors")).items()}
    within, noise, bad = 0, [], []
    errors = []
    # The float32 noise floor: PyTorch float32's worst distance to float64 on this very step,
    # with a 25 % margin (it is itself one sample of rounding noise).
    envelope = 1.25 * max(rel(g32[n].double(), g) for n, g in g64.items() if n != "decoder.refine.conv.bias")
    for name, g in g64.items():
        # A conv bias right before a batch-statistics BatchNorm has an exactly zero gradient
        # (the BN subtracts it again); both sides carry only rounding noise there.
        if name == "decoder.refine.conv.bias":
            continue
        rb, r32 = rel(grads[name].double(), g), rel(g32[name].double(), g)
        errors.append(rb)
        if rb < 1e-3:
            within += 1
        elif rb <= envelope:
            noise.append((name, rb, r32))
        else:
            bad.append((name, rb, r32))
    errors.sort()
    print(f"     gradient relative differences to float64: median {errors[len(errors) // 2]:.1e}, max {errors[-1]:.1e}")
    if noise:
        worst = max(noise, key=lambda x: x[1])
        print(f"     {len(noise)} tensors beyond 1e-3 but within the float32 noise floor ({envelope:.1e}); "
              f"worst {worst[0]}: burn {worst[1]:.1e}, PyTorch float32 {worst[2]:.1e}")
    check(not bad, f"gradients: {within} of {len(errors)} tensors within 1e-3 relative, {len(noise)} within float32 noise"
          + (f"; beyond it: {bad}" if bad else ""))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
