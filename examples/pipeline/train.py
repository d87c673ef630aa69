"""Stage 2: fit y = w * x on out/clean.csv; out/model.txt stays untracked, results/summary.json is committed."""
import argparse
import json
import os

import helper

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=0.05)
parser.add_argument("--epochs", type=int, default=20)
args = parser.parse_args()

with open("out/clean.csv") as f:
    points = [tuple(float(v) for v in line.split(",")) for line in f.read().splitlines()[1:]]
w = 0.0
for _ in range(args.epochs):
    for x, y in points:
        w += args.lr * (y - w * x) * x / len(points)
loss = sum((y - w * x) ** 2 for x, y in points) / len(points)

os.makedirs("out", exist_ok=True)
os.makedirs("results", exist_ok=True)
with open("out/model.txt", "w") as f:
    f.write(f"w={helper.scale(w):.6f}\n")
with open("results/summary.json", "w") as f:
    json.dump({"loss": round(loss, 6), "rows": len(points)}, f, indent=2, sort_keys=True)
    f.write("\n")
print(f"train: w={w:.4f} loss={loss:.4f}")
