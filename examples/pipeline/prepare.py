"""Stage 1: clean the raw data (data/raw.csv, not in git) into out/clean.csv (untracked)."""
import os

os.makedirs("out", exist_ok=True)
with open("data/raw.csv") as f:
    rows = [line.strip() for line in f.read().splitlines()[1:] if line.strip()]
with open("out/clean.csv", "w") as f:
    f.write("x,y\n" + "".join(row + "\n" for row in rows if "," in row))
print(f"prepare: {len(rows)} rows")
