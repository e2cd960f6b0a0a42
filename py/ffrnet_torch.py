"""FFRNet in PyTorch, written from shared/docs/ffrnet-spec.md (not the authors' code).

A reference for parity tests against the burn implementation. Module names follow the burn
model's field names, so burn's safetensors export loads with a single documented mapping:
BatchNorm `gamma` -> `weight`, `beta` -> `bias` (see `burn_to_torch`).
The config dict is the `config` of a lungseg model card (`FfrNetConfig` in Rust).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


def conv(cin: int, cout: int, k: int, stride: int = 1, dilation: int = 1, bias: bool = False) -> nn.Conv2d:
    pad = dilation * (k - 1) // 2
    return nn.Conv2d(cin, cout, k, stride=stride, padding=pad, dilation=dilation, bias=bias)


class ConvBn(nn.Module):
    def __init__(self, cin, cout, k, stride=1, dilation=1, bias=False, relu=True):
        super().__init__()
        self.conv = conv(cin, cout, k, stride, dilation, bias)
        self.bn = nn.BatchNorm2d(cout, eps=1e-5, momentum=0.1)
        self.relu = relu

    def forward(self, x):
        y = self.bn(self.conv(x))
        return F.relu(y) if self.relu else y


def stage_dilation(s: int, b: int) -> int:
    return {2: 1 if b == 0 else 2, 3: 4}.get(s, 1)


class Residual(nn.Module):
    def __init__(self, kind, cin, width, stride, dilation):
        super().__init__()
        exp = 4 if kind == "Bottleneck" else 1
        cout = width * exp
        if kind == "Basic":
            self.convs = nn.ModuleList([ConvBn(cin, width, 3, stride, dilation), ConvBn(width, width, 3, 1, dilation, relu=False)])
        else:
            self.convs = nn.ModuleList([
                ConvBn(cin, width, 1), ConvBn(width, width, 3, stride, dilation), ConvBn(width, cout, 1, relu=False)])
        self.downsample = ConvBn(cin, cout, 1, stride, relu=False) if (stride != 1 or cin != cout) else None

    def forward(self, x):
        s = self.downsample(x) if self.downsample is not None else x
        for c in self.convs:
            x = c(x)
        return F.relu(x + s)


class DilatedResNet(nn.Module):
    def __init__(self, cfg, in_channels):
        super().__init__()
        kind, layers, widths = cfg["block"], cfg["layers"], cfg["widths"]
        exp = 4 if kind == "Bottleneck" else 1
        self.stem = ConvBn(in_channels, cfg["stem_width"], 7, 2)
        cin = cfg["stem_width"]
        for s in range(4):
            blocks = []
            for b in range(layers[s]):
                stride = [1, 2, 1, 1][s] if b == 0 else 1
                blocks.append(Residual(kind, cin, widths[s], stride, stage_dilation(s, b)))
                cin = widths[s] * exp
            setattr(self, f"layer{s + 1}", nn.ModuleList(blocks))

    def forward(self, x):
        h, w = x.shape[-2:]
        x = self.stem(x)
        x = F.adaptive_avg_pool2d(x, (-(-h // 4), -(-w // 4)))
        feats = []
        for layer in (self.layer1, self.layer2, self.layer3, self.layer4):
            for b in layer:
                x = b(x)
            feats.append(x)
        return feats


def gate_off(x):
    return 1.0 - torch.sigmoid(x)


class PeerFuse(nn.Module):
    def __init__(self, c, n):
        super().__init__()
        self.memory = nn.ModuleList([conv(c, c, 1) for _ in range(n - 1)])
        self.fuse = nn.ModuleList([conv(2 * c, c, 1) for _ in range(n - 1)])
        self.carry = nn.ModuleList([conv(c, c, 1) for _ in range(n - 2)])

    def forward(self, xs):
        n = len(xs)
        h = xs[0]
        m = gate_off(self.memory[0](h)) * h
        for k, x in enumerate(xs[1:]):
            fused = self.fuse[k](torch.cat([m, h], 1))
            h = x + gate_off(x) * fused
            if k + 2 < n:
                m = gate_off(self.memory[k + 1](h)) * h + torch.sigmoid(self.carry[k](m)) * m
        return h


class Autofocus(nn.Module):
    def __init__(self, cin, c, rates):
        super().__init__()
        self.branches = nn.ModuleList([ConvBn(cin, c, 1)] + [ConvBn(cin, c, 3, 1, r) for r in rates])
        n = len(self.branches)
        self.forward_fuse = PeerFuse(c, n)
        self.backward_fuse = PeerFuse(c, n)
        self.combine = ConvBn(2 * c, c, 1)

    def forward(self, x):
        b = [br(x) for br in self.branches]
        return self.combine(torch.cat([self.forward_fuse(b), self.backward_fuse(b[::-1])], 1))


def resize(x, size):
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=size, mode="bilinear", align_corners=True)


class CrossFuse(nn.Module):
    def __init__(self, c, levels):
        super().__init__()
        # `global` is a Python keyword: set through setattr so the parameter is named global.weight.
        setattr(self, "global", conv(levels * c, c, 1))
        self.mix = nn.ModuleList([conv(2 * c, c, 1) for _ in range(levels - 1)])
        self.excite = nn.ModuleList([conv(c, c, 1) for _ in range(levels - 1)])

    def forward(self, main, aux):
        g = getattr(self, "global")(torch.cat([main] + aux, 1))
        total = 0
        for s, mix, excite in zip(aux, self.mix, self.excite):
            a = mix(torch.cat([g, s], 1))
            w = torch.sigmoid(excite(a.mean(dim=(2, 3), keepdim=True)))
            total = total + a * w
        return main + gate_off(main) * total


class Panorama(nn.Module):
    def __init__(self, c, levels):
        super().__init__()
        self.units = nn.ModuleList([CrossFuse(c, levels) for _ in range(levels)])

    def forward(self, levels):
        out = []
        for i, unit in enumerate(self.units):
            grid = levels[i].shape[-2:]
            aux = [resize(a, grid) for j, a in enumerate(levels) if j != i]
            out.append(unit(levels[i], aux))
        return out


class Decoder(nn.Module):
    def __init__(self, c, levels, classes):
        super().__init__()
        self.up = nn.ModuleList([ConvBn(2 * c, c, 1) for _ in range(levels - 1)])
        self.refine = ConvBn(c, c, 3, bias=True)
        self.classifier = conv(c, classes, 1, bias=True)

    def forward(self, p):
        p = p[::-1]
        d = p[0]
        for level, up in zip(p[1:], self.up):
            d = up(torch.cat([level, resize(d, level.shape[-2:])], 1))
        return self.classifier(self.refine(d))


class FfrNet(nn.Module):
    def __init__(self, cfg: dict):
        super().__init__()
        bb = cfg["backbone"]
        exp = 4 if bb["block"] == "Bottleneck" else 1
        self.backbone = DilatedResNet(bb, cfg["in_channels"])
        c = cfg["channels"]
        self.autofocus = nn.ModuleList([Autofocus(w * exp, c, cfg["autofocus_rates"]) for w in bb["widths"]])
        self.panorama = Panorama(c, 4)
        self.decoder = Decoder(c, 4, cfg["classes"])
        self.register_buffer("mean", torch.tensor(cfg["mean"]).view(1, -1, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(cfg["std"]).view(1, -1, 1, 1), persistent=False)

    def forward(self, x):
        size = x.shape[-2:]
        f = self.backbone((x - self.mean) / self.std)
        a = [af(fi) for af, fi in zip(self.autofocus, f)]
        return resize(self.decoder(self.panorama(a)), size)


def burn_to_torch(name: str) -> str:
    """The whole name mapping from burn's module paths to this model's state_dict keys."""
    if name.endswith(".gamma"):
        return name[: -len("gamma")] + "weight"
    if name.endswith(".beta"):
        return name[: -len("beta")] + "bias"
    return name


def trainable_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# ---- losses, as in src/loss (CE with ignore 255, standard soft Dice, differentiable SCR) ----

def cross_entropy(logits, target):
    valid = target != 255
    t = torch.where(valid, target, torch.zeros_like(target))
    picked = F.log_softmax(logits, 1).gather(1, t.unsqueeze(1)).squeeze(1)
    return -(picked * valid).sum() / valid.sum().clamp_min(1)


def _dice(p, y):
    n = p.shape[0]
    p, y = p.reshape(n, -1), y.reshape(n, -1)
    return (2 * (p * y).sum(1) + 1) / (p.sum(1) + y.sum(1) + 1)


def soft_dice(probs, target):
    k = probs.shape[1]
    valid = (target != 255).float()
    scores = [_dice(1 - probs[:, 0], (target != 0).float())]
    if k > 2:
        for c in range(1, k):
            scores.append(_dice(probs[:, c] * valid, (target == c).float()))
    return 1 - torch.cat(scores).mean()


def scr_loss(probs, inside, outside, eps=1e-6):
    n = probs.shape[0]
    p = (1 - probs[:, 0]).reshape(n, -1)

    def term(p, d):
        mass = d.sum(1, keepdim=True)
        defined = (mass > 0).float()
        q = d / mass.clamp_min(eps)
        cross = -(q * p.clamp_min(eps).log()).sum(1, keepdim=True)
        return (cross * defined).reshape(n), defined.reshape(n)

    kin, din = term(p, inside.reshape(n, -1))
    kout, dout = term(1 - p, outside.reshape(n, -1))
    return (kin + kout).sum() / (din + dout).sum().clamp_min(1)


def segmentation_loss(logits, target, inside, outside, w_ce=1.0, w_dice=1.0, w_scr=0.0):
    probs = F.softmax(logits, 1)
    total = w_ce * cross_entropy(logits, target) + w_dice * soft_dice(probs, target)
    if w_scr > 0:
        total = total + w_scr * scr_loss(probs, inside, outside)
    return total
