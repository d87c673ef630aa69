"""Stage 3: print the committed summary and the untracked model (writes nothing)."""
import json

with open("results/summary.json") as f:
    summary = json.load(f)
with open("out/model.txt") as f:
    model = f.read().strip()
print(f"report: {model} loss={summary['loss']} rows={summary['rows']}")
