#!/usr/bin/env python3
"""Where the slow commands of a BM_ShardLatency run are: reads the file
GAVEL_BENCH_DUMP=FILE made (one "submit_ns latency_ns" line per command)
and prints the episodes of commands slower than --slow_us (those submitted
within --join_us of each other form one episode), with the gap since the
previous episode, so that a periodic stall (a timer tick) shows.

  GAVEL_BENCH_DUMP=/tmp/lat.txt build/h-bench/bench/engine_bench \\
      --benchmark_filter='ShardLatency/mode:2/bid:1/load_pct:25' --benchmark_min_time=0.3
  bench/latency_episodes.py /tmp/lat.txt
"""
import argparse
import collections


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dump")
    parser.add_argument("--slow_us", type=float, default=10.0)
    parser.add_argument("--join_us", type=float, default=20.0)
    parser.add_argument("--show", type=int, default=40, help="episodes to list")
    args = parser.parse_args()

    rows = []
    with open(args.dump) as f:
        for line in f:
            submit, latency = line.split()
            rows.append((int(submit), int(latency)))
    if not rows:
        raise SystemExit("no samples in " + args.dump)
    rows.sort()
    t0 = rows[0][0]
    slow_ns = args.slow_us * 1000
    episodes = []  # [first submit, last submit, max latency, commands]
    for submit, latency in rows:
        if latency <= slow_ns:
            continue
        if episodes and submit - episodes[-1][1] < args.join_us * 1000:
            e = episodes[-1]
            e[1] = submit
            e[2] = max(e[2], latency)
            e[3] += 1
        else:
            episodes.append([submit, submit, latency, 1])

    n = len(rows)
    slow = sum(e[3] for e in episodes)
    print(f"{n} commands over {(rows[-1][0] - t0) / 1e6:.1f} ms; {slow} ({100 * slow / n:.2f} %) "
          f"slower than {args.slow_us:g} us, in {len(episodes)} episodes")
    gaps = collections.Counter()
    previous = None
    for i, (first, last, worst, count) in enumerate(episodes):
        start = (first - t0) / 1e3
        gap = None if previous is None else start - previous
        if gap is not None:
            gaps[round(gap / 100) * 100] += 1  # to the nearest 0.1 ms
        if i < args.show:
            gap_text = "" if gap is None else f"{gap:9.1f}"
            print(f"  at {start:11.1f} us  lasting {(last - first) / 1e3:8.1f} us  "
                  f"worst {worst / 1e3:8.1f} us  commands {count:5d}  gap {gap_text}")
        previous = start
    print("most common gaps between episodes (us, to 0.1 ms):",
          ", ".join(f"{g:.0f} x{c}" for g, c in gaps.most_common(5)))


if __name__ == "__main__":
    main()
