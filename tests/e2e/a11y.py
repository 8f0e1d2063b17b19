"""axe-core in the browser tests: the serious and critical accessibility violations of a page."""

from __future__ import annotations

from pathlib import Path

AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
BLOCKING = ("serious", "critical")


def violations(page, impacts: tuple[str, ...] = BLOCKING, exclude: list[str] | None = None) -> list[dict]:
    """Run axe-core (WCAG 2 A/AA rules) on the page as it is now; one dict per failing rule.

    `exclude` lists selectors axe should skip (e.g. a third-party widget tested upstream)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated by the DevTools protocol, not as an inline <script>: the pages' CSP
        # (fieldreport/headers.py) rightly blocks a script tag without its nonce.
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;true")
    result = page.evaluate(
        """async (exclude) => {
        const ctx = exclude.length ? {exclude: exclude.map(s => [s])} : document;
        const r = await axe.run(ctx, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']},
                                     resultTypes: ['violations']});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map(n => ({target: n.target.join(' '), summary: n.failureSummary}))}));
    }""",
        exclude or [],
    )
    return [v for v in result if v["impact"] in impacts]


def describe(found: list[dict]) -> str:
    """A readable assertion message: rule, impact, and the first few elements."""
    lines = []
    for v in found:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']} — {len(v['nodes'])} element(s)")
        lines += [f"    {n['target']}: {(n['summary'] or '').splitlines()[-1].strip()}" for n in v["nodes"][:6]]
    return "\n".join(lines)
