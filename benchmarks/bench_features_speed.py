"""Feature-extraction speed of PretrainedFeatures' network on this CPU.

Images per second of the EfficientNet-Lite0 trunk (resize, normalisation,
forward, pooling; batch 64, fp32) for the execution engines that can beat
plain eager PyTorch on a CPU, each measured in the same run, in rounds that
alternate the engines (so a load change on a shared machine hits them all):

* ``eager``: what ``PretrainedFeatures`` runs (NCHW, ``inference_mode``);
* ``channels_last``: the same module and input in NHWC memory format;
* ``jit_frozen``: ``torch.jit.trace`` + ``freeze`` + ``optimize_for_inference``
  (folds batch norm into the convolutions);
* ``onnxruntime``: the module exported to ONNX and run by ONNX Runtime's CPU
  provider (skipped when ``onnxruntime``/``onnx`` are not installed);
* ``eager`` at other input sizes (``--sizes``), the cheapest lever.

Each engine's features are compared with eager's on the same images (max
absolute difference; the features are O(1), so a difference below 1e-3 leaves
every Hamming code of a trained hasher, and its mAP, practically unchanged).
Random uint8 images, no data needed::

    python benchmarks/bench_features_speed.py
    python benchmarks/bench_features_speed.py --sizes 96 128 224 --rounds 3
"""

import argparse
import copy
import os
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from skhash.features import PretrainedBackbone  # noqa: E402

from _common import print_table, time_alternating  # noqa: E402


def _engines(net, example, size):
    """name -> callable(uint8 NHWC tensor) -> features tensor."""
    engines = {}

    def eager(x):
        with torch.inference_mode():
            return net(x)

    engines["eager"] = eager

    net_cl = copy.deepcopy(net).to(memory_format=torch.channels_last)

    def channels_last(x):
        with torch.inference_mode():
            xf = net_cl.preprocess(x).contiguous(memory_format=torch.channels_last)
            return net_cl.net.extract_features(xf).mean(dim=(2, 3))

    engines["channels_last"] = channels_last

    class Trunk(torch.nn.Module):
        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, x):
            return self.net.net.extract_features(x).mean(dim=(2, 3))

    trunk = Trunk(net).eval()
    xf = net.preprocess(example)
    with torch.no_grad():
        frozen = torch.jit.optimize_for_inference(
            torch.jit.freeze(torch.jit.trace(trunk, xf).eval())
        )

    def jit_frozen(x):
        with torch.inference_mode():
            return frozen(net.preprocess(x))

    engines["jit_frozen"] = jit_frozen
    try:
        import onnxruntime as ort
    except ImportError:
        print("# onnxruntime not installed: its row is skipped", flush=True)
        return engines
    path = Path(tempfile.mkdtemp()) / f"trunk{size}.onnx"
    torch.onnx.export(
        trunk,
        (xf,),
        str(path),
        input_names=["x"],
        output_names=["f"],
        dynamic_axes={"x": {0: "n"}, "f": {0: "n"}},
        dynamo=False,
    )
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = torch.get_num_threads()
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])

    def onnxruntime(x):
        with torch.inference_mode():
            xin = net.preprocess(x).numpy()
        return torch.from_numpy(sess.run(None, {"x": xin})[0])

    engines["onnxruntime"] = onnxruntime
    return engines


def main(argv=None):
    warnings.filterwarnings("ignore")  # the ONNX exporter's deprecation notes
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=128, help="shipped input size")
    parser.add_argument("--sizes", nargs="*", type=int, default=[96, 224])
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--batches", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    images = torch.from_numpy(
        rng.integers(0, 256, (args.batch_size, 32, 32, 3), dtype=np.uint8)
    )
    net = PretrainedBackbone("efficientnet_lite0", image_size=args.size).eval()
    engines = _engines(net, images[:2], args.size)
    others = {
        s: PretrainedBackbone("efficientnet_lite0", image_size=s).eval()
        for s in args.sizes
    }
    for s, other in others.items():
        engines[f"eager@{s}px"] = lambda x, o=other: _eager(o, x)
    with torch.inference_mode():
        reference = net(images)
    diffs = {
        name: float((f(images) - reference).abs().max())
        for name, f in engines.items()
        if "@" not in name
    }

    def batches(f):
        for _ in range(args.batches):
            f(images)

    # a warm-up before every timed call (allocator, ORT arenas), none before
    _, seconds = time_alternating(
        {name: (lambda f=f: batches(f)) for name, f in engines.items()},
        args.rounds,
        warmup=False,
        setup={name: (lambda f=f: f(images)) for name, f in engines.items()},
    )
    n = args.batch_size * args.batches
    base = n / np.median(seconds["eager"])
    rows = []
    for name, s in seconds.items():
        rate = n / np.median(s)
        rows.append(
            dict(
                engine=name if "@" in name else f"{name}@{args.size}px",
                img_s=f"{rate:.1f}",
                speedup=f"{rate / base:.2f}x",
                max_abs_diff=f"{diffs[name]:.1e}" if name in diffs else "",
            )
        )
    print_table(
        rows,
        ["engine", "img_s", "speedup", "max_abs_diff"],
        title=f"EfficientNet-Lite0 features, batch {args.batch_size}, "
        f"{torch.get_num_threads()} threads, median of {args.rounds} rounds "
        f"(load {os.getloadavg()[0]:.1f})",
    )


def _eager(net, x):
    with torch.inference_mode():
        return net(x)


if __name__ == "__main__":
    main()
