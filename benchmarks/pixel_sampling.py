"""Time to draw 64 samples at 28x28 from pixelcnn (gated and plain) and pixelrnn (Row LSTM).

Sampling is pixel by pixel (784 steps), the 64 images as one batch, with the row-wise
computation genlab uses: the gated PixelCNN runs its vertical stack once per row (on the rows
that row can see) and its horizontal stack on one row per pixel; the plain PixelCNN computes
row i of each layer from the layer's cached row above; the Row LSTM computes one row per
pixel from the cached states of the row above. The reference recomputes the whole image for every
pixel; its time is 784 forward passes over the batch, estimated from the median of a few
(``--exact-reference`` draws the samples that way too and counts the pixels that differ,
which should be none). Untrained models at the default settings (the time does not depend
on the weights); one thread unless ``--threads``.

    python benchmarks/pixel_sampling.py [--n 64] [--size 28] [--threads 1] [--device cpu]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

import genlab

VARIANTS = [("pixelcnn", {"gated": True}), ("pixelcnn", {"gated": False}), ("pixelrnn", {})]


def timed_sample(model, n: int, cached: bool) -> tuple[float, torch.Tensor]:
    generator = torch.Generator(model.device).manual_seed(0)
    if model.device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    x = model.sample(n, generator=generator, cached=cached)
    if model.device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start, x


@torch.no_grad()
def whole_image_estimate(model, n: int, repeats: int = 5) -> float:
    """H * W times the median time of one forward pass over n whole images."""
    _, h, w = model.config.data_shape
    x = model.model_input(torch.zeros(n, 1, h, w, device=model.device))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.net(x)
        if model.device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return h * w * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=64)
    parser.add_argument("--size", type=int, default=28)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--n-bins", type=int, default=2, help="2: Bernoulli head; more: categorical")
    parser.add_argument("--exact-reference", action="store_true",
                        help="sample the whole-image way too (slow: minutes per model at 28x28)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"{args.n} samples of 1x{args.size}x{args.size}, n_bins {args.n_bins}, device {args.device}, "
          f"{args.threads} thread(s), torch {torch.__version__}")
    print(f"{'model':<24} {'params':>8} {'row-wise s':>11} {'whole-image s':>14} {'factor':>7} "
          f"{'pixels differing':>17}")
    for name, settings in VARIANTS:
        torch.manual_seed(0)
        model = genlab.create(name, data_shape=(1, args.size, args.size), n_bins=args.n_bins, **settings)
        model = model.to(args.device).eval()
        model.sample(2, generator=torch.Generator(model.device).manual_seed(0))  # warm-up
        fast, a = timed_sample(model, args.n, cached=True)
        if args.exact_reference:
            slow, b = timed_sample(model, args.n, cached=False)
            differ = str(int((a != b).sum()))  # float rounding might flip a draw at a threshold
        else:
            slow, differ = whole_image_estimate(model, args.n), "-"
        label = name + "".join(f" {k}={v}" for k, v in settings.items())
        params = sum(p.numel() for p in model.parameters())
        print(f"{label:<24} {params:>8} {fast:>11.2f} {slow:>14.2f} {slow / fast:>6.1f}x {differ:>17}", flush=True)


if __name__ == "__main__":
    main()
