"""`python -m bench.profiles FILE [--filter TEXT]`: the hottest frames of a py-spy raw profile.

py-spy's raw format is one collapsed stack per line, `frame;frame;...;frame count`. This prints
the frames with the most samples on the stack (inclusive) and at its top (self), the two views
BENCHMARKS.md quotes when a target is missed.
"""

import argparse
import re
from collections import Counter
from pathlib import Path

PROCESS_FRAME = re.compile(r"^process \d+:")


def summarise(path: Path, *, top: int = 25, contains: str = "") -> str:
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        if contains and contains not in stack:
            continue
        count = int(count_text)
        frames = [frame for frame in stack.split(";") if not PROCESS_FRAME.match(frame)]
        total += count
        for frame in set(frames):
            inclusive[frame] += count
        if frames:
            own[frames[-1]] += count
    lines = [f"{total:,} samples in {path.name}" + (f" (stacks containing {contains!r})" if contains else "")]
    for title, counter in (("inclusive", inclusive), ("self", own)):
        lines.append(f"\n{title}:")
        for frame, count in counter.most_common(top):
            lines.append(f"  {100 * count / max(total, 1):5.1f}%  {frame[:150]}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("path", type=Path)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--filter", default="", help="Only stacks containing this text.")
    arguments = parser.parse_args()
    print(summarise(arguments.path, top=arguments.top, contains=arguments.filter))


if __name__ == "__main__":
    main()
