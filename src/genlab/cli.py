"""The ``genlab`` command: a thin shell that parses, builds configs and calls the library.

torch is imported only inside the commands, so ``genlab --help`` answers at once.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def cmd_list(args) -> int:
    from .config import describe, notes
    from .data import DATASETS, USER_DATA
    from .data.domains import PAIR_FORM
    from .models import MODELS, get
    from .trainer import TrainConfig

    if args.model in DATASETS:
        print(f"{args.model}: {DATASETS[args.model]}")
        able = sorted(name for name, cls in MODELS.items() if args.model in cls.presets)
        if able:
            print(f"presets for it: {', '.join(able)} (`genlab list MODEL` shows them)")
        return 0
    if args.model:
        if args.model not in MODELS:
            from .errors import ConfigError, did_you_mean

            raise ConfigError(f"{args.model!r} is neither a model nor a dataset"
                              f"{did_you_mean(args.model, [*MODELS, *DATASETS])}; models: "
                              f"{', '.join(sorted(MODELS))}; `genlab list` shows the datasets")
        cls = get(args.model)
        print(f"{cls.name}: {summary(cls)}")
        rows = {"settings (--set key=value):": (describe(cls.Config), notes(cls.Config)),
                "training settings (--set key=value; also --steps, --seed, --device):": (describe(TrainConfig),
                                                                               notes(TrainConfig))}
        width = max(len(name) for table, _ in rows.values() for name, _, _ in table)
        kinds = max(len(tp) for table, _ in rows.values() for _, tp, _ in table)
        for title, (table, said) in rows.items():
            print(title)
            for name, tp, default in table:
                print(f"  {name:<{width}} {tp:<{kinds}} {default:<12} {said[name]}".rstrip())
        print("data settings (--set key=value): binarize=THRESHOLD thresholds the images once; stream=true reads "
              "an image folder from disk as it trains")
        if cls.presets:
            print("presets: `genlab train MODEL --data NAME` starts from these, its benchmark's settings:")
            for data, values in cls.presets.items():
                print(f"  {data:<{width}} " + ", ".join(f"{k}={v}" for k, v in values.items()))
        return 0
    print("models:")
    for name, cls in sorted(MODELS.items()):
        print(f"  {name:<10} {summary(cls)}")
    print("datasets (pairs of domains, for cyclegan and dann, after the single datasets):")
    width = max(map(len, DATASETS))
    for name, text in DATASETS.items():
        print(f"  {name:<{width}} {text}")
    print(f"  {'PATH':<{width}} a folder of images, an .npz file (x, optional y) or idx:IMAGES[,LABELS]")
    for form, text in USER_DATA.items():
        if form in PAIR_FORM:
            text += ": ,size=S resizes, ,channels=C converts grey and colour"
        print(f"  {form:<{width}} {text}")
    return 0


def summary(cls) -> str:
    """A model's one-line description: its class docstring's first line, else its module's."""
    return first_line(vars(cls).get("__doc__") or sys.modules[cls.__module__].__doc__)


def first_line(doc: str | None) -> str:
    return (doc or "").strip().splitlines()[0] if doc else ""


def cmd_train(args) -> int:
    import json

    from . import runs
    from .config import parse_sets

    if args.resume:
        given = {"MODEL": args.model, "--data": args.data, "--set": args.set, "--seed": args.seed is not None,
                 "--out": args.out, "--dry-run": args.dry_run, "--config": args.config, "--device": args.device}
        extra = [flag for flag, value in given.items() if value]
        if extra:
            raise_usage(f"--resume continues a run with the settings in its run.json; only --steps may change, "
                        f"not {extra[0]}")
        result = runs.resume(args.resume, steps=args.steps, progress=not args.no_progress)
    else:
        from .config import read_settings_file

        model, data, settings = (read_settings_file(args.config) if args.config else (None, None, {}))
        for flag, given, in_file in (("MODEL", args.model, model), ("--data", args.data, data)):
            if given and in_file and given != in_file:
                raise_usage(f"{flag} {given} differs from the {in_file} of {args.config}")
        model, data = args.model or model, args.data or data
        if not model or not data:
            raise_usage("train needs MODEL and --data NAME (or --config FILE, or --resume RUN_DIR)")
        settings.update(parse_sets(args.set))  # --set over the file
        for key in ("steps", "seed", "device"):
            if getattr(args, key) is not None:
                settings[key] = getattr(args, key)
        if args.no_progress:
            settings["progress"] = False
        result = runs.start(model, data, settings, out=args.out, dry_run=args.dry_run)
        if args.dry_run:
            print(json.dumps(result, indent=2))
            return 0
    if result is None:  # a torchrun process other than rank 0: rank 0 reports
        return 0
    quality = ", ".join(f"{k} {v}" for k, v in result.quality.items())
    work = "fitted in" if result.model.fitted else f"{result.steps} steps in"  # EM or counts, not steps
    print(f"trained {result.model_name} on {result.data_name}: {work} {result.seconds:.1f} s"
          + (f"; {quality}" if quality else ""))
    print(f"results in {result.run_dir}")
    return 0


def cmd_sample(args) -> int:
    import numpy as np
    import torch

    from .config import parse_sets
    from .errors import ConfigError
    from .io import atomic_write
    from .plot import save_samples
    from .runs import load_run, write_lines

    if args.n <= 0:
        raise ConfigError(f"-n must be positive, got {args.n}")
    to_stdout = args.out in (None, "-")
    out = Path(args.out or "-")
    if not to_stdout and out.suffix not in (".png", ".npz", ".txt"):
        raise ConfigError(f"--out must end in .png, .npz or .txt (text models), got {out.name}")
    settings = parse_sets(args.set)
    model, record = load_run(args.run_dir, args.device)
    model.eval()
    is_text = model.data_kinds == ("text",)  # samples are strings
    if to_stdout and not is_text:
        raise ConfigError(f"{model.name} samples are not text: give --out FILE.png or FILE.npz")
    if not to_stdout and (out.suffix == ".txt") != is_text:
        raise ConfigError(f"{model.name} samples go to " + ("FILE.txt" if is_text else "FILE.png or FILE.npz"))
    if args.prompt is not None and not is_text:
        raise ConfigError(f"--prompt is for text models; {model.name} takes none")
    if settings and model.Sampling is None:
        raise ConfigError(f"--set is for models with sampling settings (text models, ddpm, stylegan, the pixel "
                          f"models); {model.name} takes none")
    model.sampling(settings)  # every key and value checked before any work
    if args.prompt is not None:
        settings["prompt"] = args.prompt
    generator = torch.Generator().manual_seed(args.seed)
    if model.translates:
        return translate_run(model, record, args.n, out)
    with torch.no_grad():
        x = model.sample(args.n, generator=generator, **settings)
    if to_stdout:
        for line in x:
            print(" ".join(line.split()))
        return 0
    if is_text:
        write_lines(out, x)
    elif out.suffix == ".png":
        save_samples(x.cpu(), out, "image" if x.dim() == 4 else "points")
    else:
        def write(tmp: str) -> None:
            with open(tmp, "wb") as f:  # a file object, or np.savez would append .npz to the name
                np.savez(f, x=x.cpu().numpy())

        atomic_write(out, write)
    print(f"{args.n} samples written to {out}")
    return 0


def translate_run(model, record, n: int, out: Path) -> int:
    """``genlab sample`` for a translation model: the first ``n`` held-out images of domain A,
    translated to B; a PNG shows rows of inputs, translations and translations back."""
    import numpy as np
    import torch

    from .errors import DataError
    from .io import atomic_write
    from .plot import save_image_grid
    from .runs import run_data

    if record is None:
        raise DataError(f"{model.name} translates the held-out images of its run: sample a run directory "
                        f"made by `genlab train`")
    a = run_data(record)[1].part("a").x[:n]
    with torch.no_grad():
        there, back = (t.cpu() for t in model.cycle(a, "a2b"))
    if out.suffix == ".png":
        rows = 8
        blocks = [torch.cat([x[i:i + rows] for x in (a, there, back)]) for i in range(0, len(a), rows)]
        save_image_grid(torch.cat(blocks), out, nrow=rows)
    else:
        def write(tmp: str) -> None:
            with open(tmp, "wb") as f:
                np.savez(f, x=there.numpy(), source=a.numpy())

        atomic_write(out, write)
    print(f"{len(a)} held-out images of domain A translated to B, written to {out}")
    return 0


def cmd_interpolate(args) -> int:
    from .runs import interpolation_grid

    path = interpolation_grid(args.run_dir, args.out, pairs=args.pairs, steps=args.steps, seed=args.seed,
                              device=args.device)
    print(f"{args.pairs} interpolations of {args.steps} steps written to {path}")
    return 0


def cmd_demo(args) -> int:
    from .demo import run_demo

    run_demo(root=args.out, progress=not args.no_progress, device=args.device)
    return 0


def cmd_eval(args) -> int:
    from .evaluation import evaluate_run, table

    metrics = [m.strip() for m in args.metrics.split(",") if m.strip()] if args.metrics else None
    result, path = evaluate_run(args.run_dir, n=args.n, metrics=metrics, seed=args.seed, iwae_k=args.iwae_k,
                                device=args.device)
    p = result["protocol"]
    print(f"{p['model']} on {p['data']}: N = {p['n']}, seed {p['seed']}"
          + (f"; feature net test accuracy {p['feature_net']['test_accuracy']:.4f}, "
             f"sha256 {p['feature_net']['weights_sha256'][:12]}" if "feature_net" in p else ""))
    print(table(result))
    print(f"scores and protocol written to {path}")
    return 0


def cmd_explain(args) -> int:
    from .explain import CLAIMS, run_claim

    if args.name is None:
        width = max(map(len, CLAIMS))
        print("\n".join(f"{name:<{width}}  {summary}" for name, (summary, _) in CLAIMS.items()))
        print("measure one with: genlab explain NAME")
        return 0
    claim = run_claim(args.name, Path(args.out), quick=args.quick)
    print(claim.table())
    print(f"plot written to {claim.plot}")
    return 0


def cmd_serve(args) -> int:
    from .playground import run_server

    run_server(args.runs_dir, host=args.host, port=args.port, device=args.device)
    return 0


def cmd_show(args) -> int:
    from .cards import show_run

    print(show_run(args.run_dir))
    return 0


def cmd_report(args) -> int:
    from .report import write_report

    path = write_report(args.run_dirs, args.out, samples=args.samples)
    print(f"report of {len(args.run_dirs)} run{'s' * (len(args.run_dirs) > 1)} written to {path}")
    return 0


def cmd_compare(args) -> int:
    from .compare import run_compare
    from .config import parse_sets

    run_compare(data=args.data, models=args.models, budget=args.budget, out=args.out, n=args.n, seed=args.seed,
                device=args.device, progress=not args.no_progress, settings=parse_sets(args.set))
    return 0


def cmd_augment(args) -> int:
    from .augment import run_augment
    from .config import parse_sets

    run_augment(data=args.data, models=args.model, k=args.k, seeds=args.seeds, per_class=args.per_class,
                out=args.out, device=args.device, progress=not args.no_progress, steps=args.steps,
                settings=parse_sets(args.set))
    return 0


def raise_usage(message: str):
    from .errors import ConfigError

    raise ConfigError(message)


DEVICE_HELP = ("auto (a CUDA GPU when there is one, else the CPU), cpu, cuda, cuda:N or mps; "
               "default auto")


def add_device(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--device", metavar="DEVICE", help=f"where to {what}: {DEVICE_HELP}")


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(prog="genlab", description="Train, sample and compare generative models.")
    parser.add_argument("--version", action="version", version=f"genlab {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("list", help="models and datasets, one line each; `list MODEL` shows its settings")
    p.add_argument("model", nargs="?", help="show the settings of this model")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("train", help="train a model; writes a run directory")
    p.add_argument("model", nargs="?", metavar="MODEL", help="registered model name (see `genlab list`)")
    p.add_argument("--data", metavar="NAME", help="built-in dataset name or a path (see `genlab list`)")
    p.add_argument("--steps", type=int, help="training steps (default from the trainer config)")
    p.add_argument("--seed", type=int, help="random seed (default 0)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="a model or training setting (`genlab list MODEL` shows them), or binarize=THRESHOLD "
                        "to threshold the images; repeatable")
    p.add_argument("--out", metavar="DIR", help="run directory (default runs/MODEL-DATA-TIME)")
    p.add_argument("--dry-run", action="store_true", help="print the resolved settings and stop")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue an interrupted run from its checkpoint")
    p.add_argument("--config", metavar="FILE.yaml",
                   help="settings from a YAML file: model, data and the keys of --set (which override it); "
                        "every run writes its own as settings.yaml, so --config RUN/settings.yaml repeats a run")
    add_device(p, "train (the same as --set device=DEVICE); under torchrun each process takes its own GPU")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("sample", help="draw samples from a trained run")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("-n", type=int, default=64, help="number of samples (default 64)")
    p.add_argument("--out", metavar="FILE",
                   help="FILE.png (picture) or FILE.npz (array x); FILE.txt for text models, one sample a line "
                        "(text models print to standard output without --out, or with --out -)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--prompt", metavar="TEXT", help="text models: the text every sample continues")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="a sampling setting: text models max_tokens, temperature, top_k, top_p, "
                        "repetition_penalty, no_repeat_ngram; ddpm sampler, sampling_steps, eta, guidance; "
                        "stylegan truncation (psi in [0, 1]), noise (random, const, none); repeatable")
    add_device(p, "sample, whatever device the run trained on")
    p.set_defaults(func=cmd_sample)

    p = sub.add_parser("eval", help="score a trained run; writes RUN_DIR/eval.json")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--n", type=int, help="number of samples (default 2,500 for points, 1,000 for images)")
    p.add_argument("--metrics", metavar="A,B", help="comma-separated subset of: modes, wasserstein, mmd, "
                   "likelihood, features, classes (default: all that fit the data)")
    p.add_argument("--seed", type=int, default=0, help="random seed for sampling and subsets (default 0)")
    p.add_argument("--iwae-k", type=int, default=1000, metavar="K",
                   help="importance samples for the IWAE likelihood bound of VAEs (default 1000)")
    add_device(p, "sample and score")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("interpolate", help="decode straight lines between the codes of held-out images: a grid PNG")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--out", required=True, metavar="FILE.png", help="the picture: one row per pair")
    p.add_argument("--pairs", type=int, default=8, help="pairs of test images, one row each (default 8)")
    p.add_argument("--steps", type=int, default=10, help="decoded points per row, both ends included (default 10)")
    p.add_argument("--seed", type=int, default=0, help="seed for picking the pairs (default 0)")
    add_device(p, "decode")
    p.set_defaults(func=cmd_interpolate)

    p = sub.add_parser("explain", help="measure a claim of the lecture notes: a table and a plot")
    p.add_argument("name", metavar="NAME", nargs="?", help="the claim; without it, the list of claims")
    p.add_argument("--quick", action="store_true", help="a smaller budget that still shows the claim's direction")
    p.add_argument("--out", default="explain", metavar="DIR", help="folder for the PNG (default: explain)")
    p.set_defaults(func=cmd_explain)

    p = sub.add_parser("serve", help="a local web page to explore the runs under a folder (needs genlab[web])")
    p.add_argument("runs_dir", nargs="?", default="runs", metavar="RUNS_DIR", help="folder of runs (default runs)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only; another prints a warning)")
    add_device(p, "sample")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("show", help="a run's card: model, data, settings, time, versions, figures and files")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("report", help="one self-contained HTML page of one run or of several side by side")
    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")
    p.add_argument("--out", default="report.html", metavar="FILE.html", help="the page (default report.html)")
    p.add_argument("--samples", type=int, metavar="N",
                   help="draw N fresh samples of each run into the page; images as one grid at native pixel "
                        "scale (1,000 mnist5k samples add about 0.3 MB)")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("compare", help="train several models at one budget on one dataset and score them alike")
    p.add_argument("--data", required=True, metavar="NAME", help="dataset every model trains on")
    p.add_argument("--models", required=True, metavar="A,B,...",
                   help="comma-separated model names, or finished run directories to reuse")
    p.add_argument("--budget", default="2000", metavar="BUDGET",
                   help="per model: training steps (2000), or minutes or seconds of training time "
                        "(10m, 90s) turned into steps by timing a few (default 2000 steps)")
    p.add_argument("--out", metavar="DIR", help="folder of the runs, compare.json and compare.html "
                   "(default runs/compare-DATA); rerun with the same --out to continue an interrupted comparison")
    p.add_argument("--n", type=int, help="samples each model is scored on (default: genlab eval's)")
    p.add_argument("--seed", type=int, default=0, help="training and sampling seed (default 0)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="a training setting for every model, over its preset (batch_size, precision, "
                        "checkpoint_every...; not steps or seed, which --budget and --seed decide); repeatable")
    add_device(p, "train and score")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("augment", help="does generated data help a classifier trained on few real images?")
    p.add_argument("--data", required=True, metavar="NAME", help="labelled image dataset")
    p.add_argument("--model", required=True, metavar="MODEL[,MODEL]",
                   help="class-conditional model(s): cgan, cvae, ddpm (conditional, with guidance)")
    p.add_argument("--k", default="10,50,all", metavar="K,K,...", help="real images per class (default 10,50,all)")
    p.add_argument("--seeds", type=int, default=3, help="seeds per setting (default 3)")
    p.add_argument("--per-class", type=int, default=500, metavar="N",
                   help="generated images added per class (default 500)")
    p.add_argument("--steps", type=int, metavar="N",
                   help="training steps of every generator (default per model: cgan 1000, cvae 1000, ddpm its "
                        "preset's for the data, 2500 on mnist5k)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="a generator setting over its preset for the data (`genlab list MODEL` shows them), "
                        "e.g. guidance=2 for ddpm; repeatable")
    p.add_argument("--out", metavar="DIR", help="folder of the results, the picks and one run directory per "
                   "generator (default runs/augment-DATA); rerun with the same --out to reuse finished generators")
    add_device(p, "train and sample")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_augment)

    p = sub.add_parser("demo", help="train gmm and gan on ring8, vae and gmm on digits; print a table")
    p.add_argument("--out", default="runs/demo", metavar="DIR", help="where the run directories go")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_device(p, "train")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from .errors import GenlabError

    try:
        return args.func(args)
    except GenlabError as err:
        print(f"genlab: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("genlab: interrupted; continue with `genlab train --resume RUN_DIR`", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
