#!/usr/bin/env python3
"""PyTorch peer of the NetDsl GPU benchmark (`NetDsl.Benchmarks --device gpu`).

Three small CNNs on 1x28x28 inputs, 10 classes (LeNet5, FashionCnn, ResNet), in eager mode and under
torch.compile (default mode, dynamic=False). Per net and mode it prints, one line each, flushed:

    peer=pytorch-cuda-<mode> net=<Net> threads=0 [k=v ...] metric=<metric> value=<v> [min=<..> max=<..> n=<rounds>]

Metrics (value = best round, like the C# side):
  fwd_flops_per_sample       2 x MACs of the Conv2d and Linear layers (counted with forward hooks)
  gpu_infer_b1_us            eval + inference_mode, `model(x).cpu()` per call (input already on the device), mean us/call
  gpu_infer_b256_sps         same at batch 256, samples/s
  gpu_infer_b256_gflops      sps x fwd FLOPs / 1e9
  gpu_train_b{64,256}_sps    zero_grad(set_to_none) / cross_entropy / backward / SGD(lr 0.01, momentum 0.9) step / loss.item()
  gpu_train_b{64,256}_gflops_3x   sps x 3 x fwd FLOPs / 1e9
  gpu_infer_b{1,256}_warm_s, gpu_train_b{64,256}_warm_s   seconds of the warm-up (compilation included in compile mode)
Once per run (net=Gemm1024, peer=pytorch-<dev>-eager): gemm_fp32_gflops (TF32 off) and gemm_tf32_gflops (TF32 on, then off again).

The whole run uses TF32 off (torch.backends.cuda.matmul.allow_tf32 = False, torch.backends.cudnn.allow_tf32 = False: true
fp32, as the C# twins compute) and torch.backends.cudnn.benchmark = True (PyTorch's usual fast setting). Only the legacy
allow_tf32 flags are touched: mixing them with the newer fp32_precision API makes recent PyTorch raise inside inductor.

`--device cpu` is for smoke tests only (time.perf_counter, no synchronize; peer=pytorch-cpu-<mode>).

Example (H100, ~1 min):  python3 torch_gpu_bench.py --quick
Smoke test on a CPU:     python3 torch_gpu_bench.py --device cpu --quick --modes eager --rounds 1 --steps 2 --calls-b1 3 --calls-b256 1
"""

import argparse
import sys
import time
import traceback

import torch
import torch.nn as nn
import torch.nn.functional as F

NUM_CLASSES = 10


# ---------------------------------------------------------------------------------------------------------------- nets

def lenet5():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.Tanh(), nn.AvgPool2d(2),
        nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 120), nn.Tanh(),
        nn.Linear(120, 84), nn.Tanh(),
        nn.Linear(84, NUM_CLASSES))


def fashion_cnn():
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(3136, 128), nn.ReLU(),
        nn.Linear(128, NUM_CLASSES))


class ResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem_conv = nn.Conv2d(1, 16, 3, padding=1, bias=False)
        self.stem_bn = nn.BatchNorm2d(16)
        self.b1_conv1 = nn.Conv2d(16, 16, 3, padding=1, bias=False)
        self.b1_bn1 = nn.BatchNorm2d(16)
        self.b1_conv2 = nn.Conv2d(16, 16, 3, padding=1, bias=False)
        self.b1_bn2 = nn.BatchNorm2d(16)
        self.down_conv = nn.Conv2d(16, 32, 3, stride=2, padding=1, bias=False)
        self.down_bn = nn.BatchNorm2d(32)
        self.b2_conv1 = nn.Conv2d(32, 32, 3, padding=1, bias=False)
        self.b2_bn1 = nn.BatchNorm2d(32)
        self.b2_conv2 = nn.Conv2d(32, 32, 3, padding=1, bias=False)
        self.b2_bn2 = nn.BatchNorm2d(32)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(32, NUM_CLASSES)

    def forward(self, x):
        s = F.relu(self.stem_bn(self.stem_conv(x)))
        h = F.relu(self.b1_bn1(self.b1_conv1(s)))
        h = self.b1_bn2(self.b1_conv2(h))
        b1 = F.relu(h + s)
        d = F.relu(self.down_bn(self.down_conv(b1)))
        h = F.relu(self.b2_bn1(self.b2_conv1(d)))
        h = self.b2_bn2(self.b2_conv2(h))
        h = F.relu(h + d)
        return self.fc(self.flatten(self.pool(h)))


# FashionCnn's stages alone, as NetDsl's benchmark nets of the same names (flattened, so the same cross-entropy over the
# whole output trains them); each reads the previous stage's output shape (INPUT_SHAPE).
def cnn_conv1():
    return nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.Flatten())


def cnn_stage1():
    return nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten())


def cnn_pool1():
    return nn.Sequential(nn.ReLU(), nn.MaxPool2d(2), nn.Flatten())


def cnn_conv2():
    return nn.Sequential(nn.Conv2d(32, 64, 3, padding=1), nn.Flatten())


def cnn_head():
    return nn.Sequential(nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, NUM_CLASSES))


NETS = {"LeNet5": lenet5, "FashionCnn": fashion_cnn, "ResNet": ResNet, "CnnConv1": cnn_conv1, "CnnStage1": cnn_stage1,
        "CnnPool1": cnn_pool1, "CnnConv2": cnn_conv2, "CnnHead": cnn_head}
INPUT_SHAPE = {"CnnPool1": (32, 28, 28), "CnnConv2": (32, 14, 14), "CnnHead": (64, 7, 7)}


def forward_flops_per_sample(factory, shape=(1, 28, 28)):
    """2 x MACs of Conv2d and Linear layers for one sample, counted with forward hooks on a CPU copy."""
    model = factory().eval()
    macs = [0]

    def conv_hook(m, inp, out):
        k = m.kernel_size[0] * m.kernel_size[1] * (m.in_channels // m.groups)
        macs[0] += (out.numel() // out.shape[0]) * k

    def linear_hook(m, inp, out):
        macs[0] += (out.numel() // out.shape[0]) * m.in_features

    hooks = []
    for mod in model.modules():
        if isinstance(mod, nn.Conv2d):
            hooks.append(mod.register_forward_hook(conv_hook))
        elif isinstance(mod, nn.Linear):
            hooks.append(mod.register_forward_hook(linear_hook))
    with torch.no_grad():
        model(torch.zeros(1, *shape))
    for h in hooks:
        h.remove()
    return 2 * macs[0]


# -------------------------------------------------------------------------------------------------------------- output

class Out:
    def __init__(self, dev_kind, tags):
        self.dev_kind = dev_kind
        self.tags = "".join(" " + t for t in tags)

    def line(self, mode, net, metric, value, vals=None):
        s = "peer=pytorch-{}-{} net={} threads=0{} metric={} value={}".format(
            self.dev_kind, mode, net, self.tags, metric, fmt(value))
        if vals is not None and len(vals) > 1:
            s += " min={} max={} n={}".format(fmt(min(vals)), fmt(max(vals)), len(vals))
        print(s, flush=True)


def fmt(v):
    if isinstance(v, int):
        return str(v)
    return format(v, ".6g")


def comment(s):
    print("# " + s, flush=True)


def one_line(e, limit=600):
    msg = "{}: {}".format(type(e).__name__, e)
    msg = " | ".join(part.strip() for part in msg.splitlines() if part.strip())
    return msg if len(msg) <= limit else msg[:limit] + " ..."


# -------------------------------------------------------------------------------------------------------------- timing

class Clock:
    def __init__(self, device):
        self.cuda = device.type == "cuda"

    def sync(self):
        if self.cuda:
            torch.cuda.synchronize()

    def now(self):
        self.sync()
        return time.perf_counter()


def set_tf32(on):
    # Legacy flags only (see the module docstring).
    torch.backends.cuda.matmul.allow_tf32 = on
    torch.backends.cudnn.allow_tf32 = on


def gemm_bench(device, clock, out, rounds, reps, tf32, n=1024):
    g = torch.Generator(device="cpu").manual_seed(1)
    a = torch.randn(n, n, generator=g).to(device)
    b = torch.randn(n, n, generator=g).to(device)
    c = torch.empty(n, n, device=device)
    old = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = tf32
    try:
        for _ in range(5):
            torch.mm(a, b, out=c)
        clock.sync()
        gflops = []
        for _ in range(rounds):
            if clock.cuda:
                start = torch.cuda.Event(enable_timing=True)
                end = torch.cuda.Event(enable_timing=True)
                start.record()
                for _ in range(reps):
                    torch.mm(a, b, out=c)
                end.record()
                end.synchronize()
                sec = start.elapsed_time(end) / 1e3
            else:
                t0 = time.perf_counter()
                for _ in range(reps):
                    torch.mm(a, b, out=c)
                sec = time.perf_counter() - t0
            gflops.append(2.0 * n * n * n * reps / sec / 1e9)
    finally:
        torch.backends.cuda.matmul.allow_tf32 = old
    out.line("eager", f"Gemm{n}", "gemm_tf32_gflops" if tf32 else "gemm_fp32_gflops", max(gflops), gflops)


def make_model(factory, device, seed):
    torch.manual_seed(seed)
    return factory().to(device)


def wrap(model, mode, args):
    if mode == "eager":
        return model
    kwargs = {"dynamic": False}
    if args.compile_mode and args.compile_mode != "default":
        kwargs["mode"] = args.compile_mode
    return torch.compile(model, **kwargs)


def inputs(batch, device, seed, shape=(1, 28, 28)):
    g = torch.Generator(device="cpu").manual_seed(seed)
    x = torch.randn(batch, *shape, generator=g).to(device)
    y = torch.randint(0, NUM_CLASSES, (batch,), generator=g, dtype=torch.int64).to(device)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return x, y


def bench_infer(name, factory, mode, flops, device, clock, out, args):
    model = make_model(factory, device, 0).eval()
    m = wrap(model, mode, args)
    with torch.inference_mode():
        for batch, calls in ((1, args.calls_b1), (256, args.calls_b256)):
            section = "infer_b{}".format(batch)
            try:
                x, _ = inputs(batch, device, 100 + batch, INPUT_SHAPE.get(name, (1, 28, 28)))
                t0 = clock.now()
                for _ in range(max(1, args.warmup)):
                    m(x).cpu()
                warm = clock.now() - t0
                out.line(mode, name, "gpu_infer_b{}_warm_s".format(batch), warm)
                per_round = []
                for _ in range(args.rounds):
                    t0 = clock.now()
                    for _ in range(calls):
                        m(x).cpu()  # host copy of the output per call (blocks until it is there), as the twin returns
                    per_round.append(clock.now() - t0)
                if batch == 1:
                    us = [s * 1e6 / calls for s in per_round]
                    out.line(mode, name, "gpu_infer_b1_us", min(us), us)
                else:
                    sps = [batch * calls / s for s in per_round]
                    out.line(mode, name, "gpu_infer_b256_sps", max(sps), sps)
                    out.line(mode, name, "gpu_infer_b256_gflops", max(sps) * flops / 1e9)
            except Exception as e:  # noqa: BLE001 - report and go on
                report_error(name, mode, section, e)
    del m, model


def bench_train(name, factory, mode, flops, device, clock, out, args):
    for batch in (64, 256):
        section = "train_b{}".format(batch)
        try:
            model = make_model(factory, device, 0).train()
            m = wrap(model, mode, args)
            opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
            x, y = inputs(batch, device, 200 + batch, INPUT_SHAPE.get(name, (1, 28, 28)))

            def step():
                opt.zero_grad(set_to_none=True)
                loss = F.cross_entropy(m(x), y)
                loss.backward()
                opt.step()
                return loss.item()  # loss back to the host every step, as the twin's TrainStep

            t0 = clock.now()
            for _ in range(max(1, args.warmup)):
                loss = step()
            warm = clock.now() - t0
            out.line(mode, name, "gpu_train_b{}_warm_s".format(batch), warm)
            per_round = []
            for _ in range(args.rounds):
                t0 = clock.now()
                for _ in range(args.steps):
                    loss = step()
                per_round.append(clock.now() - t0)
            sps = [batch * args.steps / s for s in per_round]
            out.line(mode, name, "gpu_train_b{}_sps".format(batch), max(sps), sps)
            out.line(mode, name, "gpu_train_b{}_gflops_3x".format(batch), max(sps) * 3 * flops / 1e9)
            if loss != loss:  # NaN
                comment("warning net={} mode={} {}: loss is NaN".format(name, mode, section))
            del m, model, opt
        except Exception as e:  # noqa: BLE001 - report and go on
            report_error(name, mode, section, e)


def profile_net(name, factory, device, args):
    """Eager batch-256 inference and training steps under torch.profiler: device time per op, the costliest first (the
    counterpart of NetDsl's --profile, which charges device time per layer)."""
    from torch.profiler import profile, ProfilerActivity
    shape = INPUT_SHAPE.get(name, (1, 28, 28))
    calls = args.calls_b256
    model = make_model(factory, device, 0)
    x, y = inputs(256, device, 300, shape)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def infer():
        with torch.inference_mode():
            model.eval()(x).cpu()

    def train():
        model.train()
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        loss.item()

    for workload, call in (("infer_b256", infer), ("train_b256", train)):
        for _ in range(max(1, args.warmup)):
            call()
        cuda = device.type == "cuda"
        sync = torch.cuda.synchronize if cuda else (lambda: None)
        sync()
        with profile(activities=[ProfilerActivity.CUDA if cuda else ProfilerActivity.CPU]) as prof:
            for _ in range(calls):
                call()
            sync()
        comment("profile net={} {}: {} calls (device time per op, all calls)".format(name, workload, calls))
        for line in prof.key_averages().table(sort_by="cuda_time_total" if cuda else "cpu_time_total", row_limit=14).splitlines():
            comment("  " + line)


def report_error(name, mode, section, e):
    comment("error net={} mode={}: {}: {}".format(name, mode, section, one_line(e)))
    traceback.print_exc(file=sys.stderr)
    sys.stderr.flush()


# ---------------------------------------------------------------------------------------------------------------- main

def parse_args(argv):
    p = argparse.ArgumentParser(description="PyTorch peer of the NetDsl GPU benchmark.")
    p.add_argument("--nets", default="LeNet5,FashionCnn,ResNet")
    p.add_argument("--modes", default="eager,compile")
    p.add_argument("--compile-nets", default="FashionCnn",
                   help="nets run in compile mode (comma list, or 'all'); default FashionCnn to bound compile time")
    p.add_argument("--compile-mode", default="default",
                   help="torch.compile mode: default (the benchmark's setting), reduce-overhead, max-autotune, ...")
    p.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    p.add_argument("--quick", action="store_true", help="rounds 3, calls-b1 300, steps 50 (explicit flags still win)")
    p.add_argument("--rounds", type=int, default=None, help="default 5 (3 with --quick)")
    p.add_argument("--calls-b1", type=int, default=None, help="default 1000 (300 with --quick)")
    p.add_argument("--calls-b256", type=int, default=None, help="default 20")
    p.add_argument("--steps", type=int, default=None, help="default 100 (50 with --quick)")
    p.add_argument("--warmup", type=int, default=10, help="warm-up calls / steps before timing (default 10)")
    p.add_argument("--profile", action="store_true",
                   help="instead of timing: torch.profiler's device time per op for batch-256 inference and training (eager)")
    p.add_argument("--gemm-reps", type=int, default=None,
                   help="products per GEMM round (default 50 on cuda, 2 on cpu; 0 skips the GEMM)")
    p.add_argument("--tag", action="append", default=[], help="k=v appended to each line before metric= (repeatable)")
    a = p.parse_args(argv)
    a.rounds = a.rounds if a.rounds is not None else (3 if a.quick else 5)
    a.calls_b1 = a.calls_b1 if a.calls_b1 is not None else (300 if a.quick else 1000)
    a.calls_b256 = a.calls_b256 if a.calls_b256 is not None else 20
    a.steps = a.steps if a.steps is not None else (50 if a.quick else 100)
    a.gemm_reps = a.gemm_reps if a.gemm_reps is not None else (50 if a.device == "cuda" else 2)
    for t in a.tag:
        if "=" not in t or " " in t:
            p.error("--tag wants k=v without spaces, got {!r}".format(t))
    return a


def split_names(s, known, what):
    names = [n.strip() for n in s.split(",") if n.strip()]
    lower = {k.lower(): k for k in known}
    result = []
    for n in names:
        if n.lower() == "all":
            return list(known)
        if n.lower() not in lower:
            raise SystemExit("unknown {} {!r}; known: {}".format(what, n, ",".join(known)))
        result.append(lower[n.lower()])
    return result


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    nets = split_names(args.nets, list(NETS), "net")
    modes = split_names(args.modes, ["eager", "compile"], "mode")
    compile_nets = set(split_names(args.compile_nets, list(NETS), "net"))

    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("CUDA is not available (use --device cpu for a smoke test)")
    device = torch.device(args.device)
    clock = Clock(device)

    set_tf32(False)
    torch.backends.cudnn.benchmark = True
    if hasattr(torch, "_dynamo"):
        cfg = torch._dynamo.config
        for key in ("cache_size_limit", "recompile_limit"):
            if hasattr(cfg, key):
                setattr(cfg, key, max(getattr(cfg, key), 64))
        for key in ("accumulated_cache_size_limit", "accumulated_recompile_limit"):
            if hasattr(cfg, key):
                setattr(cfg, key, max(getattr(cfg, key), 512))

    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        dev_name, sms = props.name, props.multi_processor_count
    else:
        dev_name, sms = "cpu", 0
    cudnn_ver = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
    try:
        import triton  # noqa: F401
        triton_ver = triton.__version__
    except Exception:  # noqa: BLE001
        triton_ver = "none"
    comment('torch={} device="{}" sms={} cudnn={} tf32=off cudnn_benchmark=on cuda={} triton={} python={}'.format(
        torch.__version__, dev_name, sms, cudnn_ver, torch.version.cuda, triton_ver, sys.version.split()[0]))
    comment("settings: tf32=off (torch.backends.cuda.matmul.allow_tf32=False, torch.backends.cudnn.allow_tf32=False)"
            " cudnn.benchmark=True rounds={} calls_b1={} calls_b256={} steps={} warmup={} modes={} compile_nets={}"
            " compile_mode={} (value = best round)".format(
                args.rounds, args.calls_b1, args.calls_b256, args.steps, args.warmup, ",".join(modes),
                ",".join(n for n in NETS if n in compile_nets), args.compile_mode))

    out = Out("cuda" if device.type == "cuda" else "cpu", args.tag)

    if args.gemm_reps > 0:
        # 1024^3 (the size) and, on a GPU, 4096^3 (the C# side measures both).
        for n in ((1024, 4096) if device.type == "cuda" else (1024,)):
            for tf32 in (False, True):
                try:
                    gemm_bench(device, clock, out, args.rounds, max(1, args.gemm_reps // (8 if n > 1024 else 1)), tf32, n)
                except Exception as e:  # noqa: BLE001
                    report_error(f"Gemm{n}", "eager", "gemm_tf32" if tf32 else "gemm_fp32", e)
        set_tf32(False)

    t_all = time.perf_counter()
    if args.profile:
        for name in nets:
            try:
                profile_net(name, NETS[name], device, args)
            except Exception as e:  # noqa: BLE001
                report_error(name, "eager", "profile", e)
        return
    for mode in modes:
        for name in nets:
            if mode == "compile" and name not in compile_nets:
                comment("skip net={} mode=compile (not in --compile-nets)".format(name))
                continue
            t_net = time.perf_counter()
            try:
                if mode == "compile" and not hasattr(torch, "compile"):
                    raise RuntimeError("torch {} has no torch.compile".format(torch.__version__))
                factory = NETS[name]
                flops = forward_flops_per_sample(factory, INPUT_SHAPE.get(name, (1, 28, 28)))
                out.line(mode, name, "fwd_flops_per_sample", flops)
                bench_infer(name, factory, mode, flops, device, clock, out, args)
                bench_train(name, factory, mode, flops, device, clock, out, args)
            except Exception as e:  # noqa: BLE001 - one failure must not stop the others
                report_error(name, mode, "setup", e)
            finally:
                if device.type == "cuda":
                    torch.cuda.empty_cache()
            comment("done net={} mode={} in {:.1f} s".format(name, mode, time.perf_counter() - t_net))
    comment("total {:.1f} s".format(time.perf_counter() - t_all))


if __name__ == "__main__":
    main()
