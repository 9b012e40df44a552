#!/usr/bin/env python3
"""scripts/bench's report: tables, ratios, targets and an SVG chart.

    report.py OUT_DIR [--book PAGE.md] [--svg CHART.svg]

Reads OUT_DIR/rows.tsv (every row, n/a ones with their reason),
OUT_DIR/GROUP.json (hyperfine's exports) and OUT_DIR/machine.env; prints the
tables, writes OUT_DIR/results.md and, with --book, replaces the text between
the page's `<!-- bench:begin -->` and `<!-- bench:end -->` markers.
The SVG is written by hand here (no plotting library, no network).
"""
import html
import json
import math
import os
import re
import statistics
import sys

GROUPS = {
    "start": ("Start to exit of /bin/true", "floor"),
    "pull-busybox": ("Pull + unpack, busybox, cold store on tmpfs", "floor"),
    "pull-debian": ("Pull + unpack, Debian (large), cold store on tmpfs", "floor"),
    "unpack-busybox": ("Unpack alone, busybox OCI layout on tmpfs", "tar"),
    "unpack-debian": ("Unpack alone, Debian OCI layout on tmpfs", "tar"),
}
OURS = re.compile(r"^(ch0\d|minibox)")


def load(out):
    rows = []
    with open(os.path.join(out, "rows.tsv")) as f:
        for line in f:
            group, key, label, status, value, unit = (line.rstrip("\n").split("\t") + [""] * 6)[:6]
            rows.append(dict(group=group, key=key, label=label, status=status, value=value, unit=unit))
    timings = {}
    for group in GROUPS:
        path = os.path.join(out, f"{group}.json")
        if not os.path.exists(path):
            continue
        with open(path) as f:
            for r in json.load(f)["results"]:
                times = sorted(r["times"])
                q = statistics.quantiles(times, n=4) if len(times) > 1 else [times[0]] * 3
                timings[(group, r["command"])] = dict(
                    median=r["median"], p25=q[0], p75=q[2], stddev=r.get("stddev") or 0.0,
                    min=r["min"], max=r["max"], runs=len(times),
                    cpu=(r.get("user") or 0.0) + (r.get("system") or 0.0))
    machine = {}
    with open(os.path.join(out, "machine.env")) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("=")
            machine[k] = v
    return rows, timings, machine


def fmt_s(seconds):
    ms = seconds * 1000
    if ms < 10:
        return f"{ms:.2f} ms"
    if ms < 1000:
        return f"{ms:.1f} ms"
    return f"{seconds:.2f} s"


def fmt_tick(seconds):
    ms = seconds * 1000
    return f"{ms:g} ms" if ms < 1000 else f"{seconds:g} s"


def md_escape(text):
    return text.replace("|", "\\|")


def group_tables(rows, timings):
    lines = []
    for group, (title, ref) in GROUPS.items():
        grows = [r for r in rows if r["group"] == group]
        if not grows:
            continue
        base = timings.get((group, ref))
        lines += [f"**{title}**", "",
                  f"| | median | spread (p25–p75) | × {ref_label(grows, ref)} | CPU | runs |",
                  "|---|---:|---:|---:|---:|---:|"]
        for r in grows:
            label = md_escape(r["label"])
            if OURS.match(r["key"]):
                label = f"**{label}**"
            t = timings.get((group, r["key"]))
            if r["status"] == "na" or t is None:
                why = r["value"] or "not measured"
                lines.append(f"| {label} | n/a ({md_escape(why)}) | | | | |")
                continue
            ratio = f"{t['median'] / base['median']:.2f}×" if base else ""
            lines.append(f"| {label} | {fmt_s(t['median'])} | {fmt_s(t['p25'])}–{fmt_s(t['p75'])} | {ratio} | {fmt_s(t['cpu'])} | {t['runs']} |")
        lines += ["", "CPU: user + system time of the command and the processes it waited for (mean), "
                  "not of daemons it talks to (containerd's work for `ctr` is not in it).", ""]
    return lines


def ref_label(grows, ref):
    for r in grows:
        if r["key"] == ref:
            return {"floor": "floor", "tar": "tar"}.get(ref, r["label"])
    return ref


def metric_tables(rows):
    lines = []
    mem = [r for r in rows if r["group"] == "memory"]
    if mem:
        lines += ["**Memory: peak RSS** (VmHWM of the shim of an idle detached container; "
                  "`/usr/bin/time -v` of a CLI during a pull; PSS: the shim's share of pages it shares with others)", "", "| | memory |", "|---|---:|"]
        for r in mem:
            label = f"**{md_escape(r['label'])}**" if OURS.match(r["key"]) else md_escape(r["label"])
            if r["status"] == "na" or not r["value"]:
                lines.append(f"| {label} | n/a ({md_escape(r['value'] or 'not measured')}) |")
            else:
                lines.append(f"| {label} | {int(r['value']) / 1024:.1f} MiB |")
        lines.append("")
    scale = [r for r in rows if r["group"] == "scale"]
    if scale:
        lines += ["**Scale: detached containers started in a row, then removed** "
                  "(mean ms per container, by fifth of the run)", ""]
        data = [(r, [int(x) / 1000 for x in r["value"].split()]) for r in scale if r["status"] == "ok" and r["value"]]
        if data:
            n = max(len(v) for _, v in data)
            step = max(1, n // 5)
            buckets = [(i, min(i + step, n)) for i in range(0, n, step)]
            lines.append("| | " + " | ".join(f"{a + 1}–{b}" for a, b in buckets) + " | all |")
            lines.append("|---|" + "---:|" * (len(buckets) + 1))
            for r, v in data:
                cells = [f"{statistics.mean(v[a:b]):.0f}" if v[a:b] else "" for a, b in buckets]
                lines.append(f"| {md_escape(r['label'].split(',')[0])} | " + " | ".join(cells) + f" | {statistics.mean(v):.0f} |")
        for r in scale:
            if r["status"] == "na":
                lines.append(f"\n{md_escape(r['label'])}: n/a ({md_escape(r['value'])})")
        lines.append("")
    return lines


def value(rows, timings, group, key):
    t = timings.get((group, key))
    if t:
        return t["median"]
    for r in rows:
        if r["group"] == group and r["key"] == key and r["status"] == "ok" and r["value"]:
            try:
                return float(r["value"])
            except ValueError:
                return None
    return None


def targets(rows, timings):
    """Each target of the benchmark issue: (what, measured ratio text, verdict)."""
    out = []

    def ratio(group, a, b, bound, what, aim=None, invert=False):
        if not any(r["group"] == group for r in rows):
            return  # the group did not run (--only)
        va, vb = value(rows, timings, group, a), value(rows, timings, group, b)
        if va is None or vb is None:
            missing = a if va is None else b
            out.append((what, "", f"not measured ({missing} n/a)"))
            return
        r = vb / va if invert else va / vb
        ok = r >= bound if invert else r <= bound
        verdict = "met" if ok else "missed"
        if aim is not None and ok:
            verdict += " (aim met)" if r <= aim else f" (aim {aim}× not met)"
        out.append((what, f"{r:.2f}×", verdict))

    ratio("start", "ch08", "crun", 1.0, "ch08-runtime run ≤ 1.0× crun run, same config.json (aim 0.8×)", aim=0.8)
    ratio("start", "ch08", "floor", 2.0, "ch08-runtime run ≤ 2× the floor")
    ratio("start", "minibox", "crun", 1.5, "minibox run --rm ≤ 1.5× crun run")
    ratio("start", "minibox", "podman", 0.2, "minibox run --rm ≤ 0.2× podman run --rm")
    for image in ("busybox", "debian"):
        group = f"pull-{image}"
        if not any(r["group"] == group for r in rows):
            continue
        ours = "minibox" if (group, "minibox") in timings else "ch06"
        name = "minibox pull" if ours == "minibox" else "ch06-registry pull"
        ratio(group, ours, "skopeo-umoci", 0.5, f"{name} ({image}) ≤ 0.5× skopeo copy + umoci unpack")
        ratio(group, ours, "floor", 0.8, f"{name} ({image}) ≥ 0.8× the speed of curl + tar", invert=True)
    for image in ("busybox", "debian"):
        group = f"unpack-{image}"
        if any(r["group"] == group for r in rows):
            ratio(group, "ch05", "tar", 0.9, f"ch05-images import ({image}) ≥ 0.9× the speed of tar -xzf", invert=True)
    ratio("memory", "minibox-shim", "conmon", 1.0, "minibox's shim RSS ≤ conmon's")
    return out


# ------------------------------------------------------------------ SVG
def svg_chart(rows, timings):
    panels = []
    for group, (title, _) in GROUPS.items():
        items = []
        for r in rows:
            if r["group"] != group:
                continue
            t = timings.get((group, r["key"]))
            items.append((r, t))
        if items:
            panels.append((title, items))
    width, label_w, bar_w, row_h, top_pad = 960, 330, 500, 20, 34
    y = 10
    parts = []
    for title, items in panels:
        measured = [t for _, t in items if t]
        if not measured:
            continue
        lo = min(t["p25"] for t in measured) * 0.7
        hi = max(t["p75"] for t in measured) * 1.3
        lo_l, hi_l = math.log10(lo), math.log10(hi)

        def x(v):
            return label_w + (math.log10(max(v, lo)) - lo_l) / (hi_l - lo_l) * bar_w

        parts.append(f'<text x="10" y="{y + 16}" class="title">{html.escape(title)}</text>')
        # decade-ish ticks: 1, 2, 5 × 10^k
        k = math.floor(lo_l)
        ticks = []
        while 10 ** k < hi:
            for m in (1, 2, 5):
                v = m * 10 ** k
                if lo <= v <= hi:
                    ticks.append(v)
            k += 1
        h = top_pad + row_h * len(items)
        for v in ticks:
            parts.append(f'<line x1="{x(v):.1f}" y1="{y + 24}" x2="{x(v):.1f}" y2="{y + h}" class="grid"/>')
            parts.append(f'<text x="{x(v):.1f}" y="{y + h + 12}" class="tick">{html.escape(fmt_tick(v))}</text>')
        yy = y + top_pad
        for r, t in items:
            ours = bool(OURS.match(r["key"]))
            floor = r["key"] in ("floor", "tar")
            cls = "ours" if ours else ("floor" if floor else "peer")
            parts.append(f'<text x="{label_w - 8}" y="{yy + 13}" class="label{" bold" if ours else ""}">{html.escape(r["label"])}</text>')
            if t is None:
                parts.append(f'<text x="{label_w + 4}" y="{yy + 13}" class="na">n/a</text>')
            else:
                parts.append(f'<rect x="{label_w}" y="{yy + 3}" width="{x(t["median"]) - label_w:.1f}" height="{row_h - 6}" class="{cls}"/>')
                parts.append(f'<line x1="{x(t["p25"]):.1f}" y1="{yy + row_h / 2}" x2="{x(t["p75"]):.1f}" y2="{yy + row_h / 2}" class="whisker"/>')
                parts.append(f'<text x="{max(x(t["median"]), x(t["p75"])) + 6:.1f}" y="{yy + 13}" class="value">{html.escape(fmt_s(t["median"]))}</text>')
            yy += row_h
        y += h + 30
    scale = [(r, [int(v) / 1000 for v in r["value"].split()]) for r in rows
             if r["group"] == "scale" and r["status"] == "ok" and r["key"].endswith("-start") and r["value"]]
    if scale:
        parts.append(f'<text x="10" y="{y + 16}" class="title">Scale: ms to start each detached container, in order</text>')
        h = 160
        n = max(len(v) for _, v in scale)
        top = max(max(v) for _, v in scale) * 1.1
        x0, x1, y0, y1 = label_w, label_w + bar_w, y + h, y + 30
        for frac in (0, 0.25, 0.5, 0.75, 1):
            yv = y0 - (y0 - y1) * frac
            parts.append(f'<line x1="{x0}" y1="{yv:.1f}" x2="{x1}" y2="{yv:.1f}" class="grid"/>')
            parts.append(f'<text x="{x0 - 6}" y="{yv + 4:.1f}" class="label">{top * frac:.0f} ms</text>')
        for i, (r, v) in enumerate(scale):
            cls = "oursline" if OURS.match(r["key"]) else "peerline"
            pts = " ".join(f"{x0 + (j / max(1, n - 1)) * (x1 - x0):.1f},{y0 - (ms / top) * (y0 - y1):.1f}" for j, ms in enumerate(v))
            parts.append(f'<polyline points="{pts}" class="{cls}"/>')
            parts.append(f'<text x="{x1 + 8}" y="{y1 + 14 + 16 * i}" class="value {cls}t">{html.escape(r["key"].rsplit("-", 1)[0])}</text>')
        parts.append(f'<text x="{x0}" y="{y0 + 14}" class="tick">1</text><text x="{x1}" y="{y0 + 14}" class="tick">{n}</text>')
        y += h + 30
    style = (
        "text{font-family:sans-serif;font-size:12px;fill:#222}"
        ".title{font-size:14px;font-weight:bold}.label{text-anchor:end}.bold{font-weight:bold}"
        ".tick{text-anchor:middle;font-size:10px;fill:#666}.value{font-size:11px}.na{fill:#999;font-style:italic}"
        ".grid{stroke:#ddd;stroke-width:1}.whisker{stroke:#000;stroke-width:1.5}"
        ".ours{fill:#2b6cb0}.peer{fill:#a0aec0}.floor{fill:#38a169}"
        ".oursline{fill:none;stroke:#2b6cb0;stroke-width:2}.peerline{fill:none;stroke:#718096;stroke-width:2}"
        ".oursinet{fill:#2b6cb0}.peerlinet{fill:#718096}.ourslinet{fill:#2b6cb0}"
    )
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{y}" viewBox="0 0 {width} {y}" '
            f'role="img" aria-label="benchmark results"><style>{style}</style>'
            f'<rect width="100%" height="100%" fill="#fff"/>' + "".join(parts) + "</svg>\n")


def main():
    args = sys.argv[1:]
    if not args:
        sys.exit(__doc__)
    out, book, svg = args[0], None, None
    if "--book" in args:
        book = args[args.index("--book") + 1]
    if "--svg" in args:
        svg = args[args.index("--svg") + 1]
    rows, timings, machine = load(out)
    m = machine
    lines = ["<!-- Written by scripts/bench: rerun it to replace everything up to bench:end. -->", "",
             f"Measured {m.get('date', '?')}{' with --quick (few runs: a check, not a result)' if m.get('quick') == '1' else ''} on: "
             f"{m.get('cpu', '?')}, {m.get('cores', '?')} cores, {m.get('memory', '?')}, Linux {m.get('kernel', '?')}; "
             f"cgroups {m.get('cgroups', '?')}.", "",
             f"Tools: {m.get('versions', '?')}. Bundle: {m.get('bundle', '?')}.", "",
             f"Load average (1, 5, 15 min) at the start: {m.get('load_start', '?')}; at the end: {m.get('load_end', '?')}."]
    try:
        load1 = float(m.get("load_start", "0").split()[0])
        if load1 > int(m.get("cores", "1")) / 2:
            lines += ["", f"> **Warning: the machine was busy** (load {load1:.1f} on {m.get('cores')} cores): "
                          "absolute numbers are noisy; the ratios, taken side by side in one run, hold better."]
    except ValueError:
        pass
    lines += ["", "![The results as bars (log scale; bar = median, line = p25–p75)](img/benchmarks.svg)", ""]
    lines += group_tables(rows, timings)
    lines += metric_tables(rows)
    tg = targets(rows, timings)
    lines += ["**Targets**", "", "| target | measured | |", "|---|---:|---|"]
    for what, r, verdict in tg:
        lines.append(f"| {md_escape(what)} | {r} | {verdict} |")
    lines.append("")
    text = "\n".join(lines)
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write(text)
    chart = svg_chart(rows, timings)
    with open(os.path.join(out, "benchmarks.svg"), "w") as f:
        f.write(chart)
    print(text)
    if svg:
        os.makedirs(os.path.dirname(svg), exist_ok=True)
        with open(svg, "w") as f:
            f.write(chart)
    if book:
        with open(book) as f:
            page = f.read()
        begin, end = "<!-- bench:begin -->", "<!-- bench:end -->"
        if begin not in page or end not in page:
            sys.exit(f"report: {book} has no {begin} … {end} markers: add them where the results go")
        head, rest = page.split(begin, 1)
        _, tail = rest.split(end, 1)
        with open(book, "w") as f:
            f.write(head + begin + "\n" + text + "\n" + end + tail)
        print(f"\nwritten: {book}, {svg or ''}, raw JSON in {out}/", file=sys.stderr)


if __name__ == "__main__":
    main()
