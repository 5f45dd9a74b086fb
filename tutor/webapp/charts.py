"""Charts for the learning and evaluation pages (Altair, drawn by st.altair_chart); the data behind each is a plain
function so tests can check the numbers without drawing anything."""

from __future__ import annotations

import altair as alt

# NHS identity colours, each distinguishable without colour vision too: every group also has its own label.
OUTCOME_COLOURS = {
    "Flagged, has the condition (true positive)": "#005EB8",
    "Flagged, does not have it (false positive)": "#ED8B00",
    "Not flagged, has the condition (missed)": "#8A1538",
    "Not flagged, does not have it (true negative)": "#C8CFD3",
}
COLUMNS = 40  # 1,000 people drawn as 25 rows of 40
TEXT = "#212B32"  # the theme's text colour: chart labels at full contrast, not Vega's faded grey


def bar_height(bars: int, per_bar: int = 30, extra: int = 70) -> int:
    """Pixels for a chart of horizontal bars: pass it to st.altair_chart(height=...), which otherwise squeezes it."""
    return per_bar * max(bars, 1) + extra


def readable(chart: alt.Chart) -> alt.Chart:
    """Axis and legend text in the theme's text colour (Vega's default grey is below AA contrast at small sizes)."""
    return (chart.configure_axis(labelColor=TEXT, titleColor=TEXT, labelFontSize=13, titleFontSize=13)
            .configure_legend(labelColor=TEXT, titleColor=TEXT, labelFontSize=13)
            .configure_title(color=TEXT))


def natural_frequency_people(true_positive: int, false_positive: int, false_negative: int, true_negative: int) -> list[dict]:
    """One row per person out of the population, grouped by outcome, laid out row by row for an icon array."""
    counts = dict(zip(OUTCOME_COLOURS, (true_positive, false_positive, false_negative, true_negative)))
    people = []
    for outcome, count in counts.items():
        for _ in range(count):
            index = len(people)
            people.append({"outcome": f"{outcome}: {count:,}", "group": outcome,
                           "column": index % COLUMNS, "row": index // COLUMNS})
    return people


def natural_frequency_chart(true_positive: int, false_positive: int, false_negative: int,
                            true_negative: int) -> alt.Chart:
    """An icon array: each square is one person; colour says what the AI tool did and whether they had it.
    Fixed 8-pixel squares (320 px wide), so it keeps its shape and fits a phone screen."""
    people = natural_frequency_people(true_positive, false_positive, false_negative, true_negative)
    total = len(people)
    labels = [f"{name}: {count:,}" for name, count in zip(
        OUTCOME_COLOURS, (true_positive, false_positive, false_negative, true_negative))]
    return readable(
        alt.Chart(alt.Data(values=people), title=alt.Title(f"{total:,} patients, one square each", color=TEXT))
        .mark_rect(stroke="#FFFFFF", strokeWidth=1)
        .encode(
            x=alt.X("column:O", axis=None),
            y=alt.Y("row:O", axis=None),
            color=alt.Color("outcome:N", scale=alt.Scale(domain=labels, range=list(OUTCOME_COLOURS.values())),
                            legend=alt.Legend(title=None, orient="bottom", direction="vertical", labelLimit=320,
                                              labelFontSize=13, labelColor=TEXT, symbolType="square", symbolSize=160)),
            tooltip=[alt.Tooltip("group:N", title="Outcome")],
        )
        .properties(width=alt.Step(8), height=alt.Step(8))
    )


def mastery_chart(rows: list[dict]) -> alt.Chart:
    """Bars of mastery (0-100%) by topic; rows need 'topic' and 'mastery' (0-1)."""
    data = [{"topic": r["topic"], "mastery": round(100 * r["mastery"]), "label": r.get("label", "")} for r in rows]
    return readable(
        alt.Chart(alt.Data(values=data))
        .mark_bar(color="#005EB8")
        .encode(x=alt.X("mastery:Q", title="Mastery (%)", scale=alt.Scale(domain=[0, 100])),
                y=alt.Y("topic:N", title=None, sort="-x"),
                tooltip=["topic:N", "mastery:Q", "label:N"])
    )


def _bars(rows: list[dict], value: str, category: str, title: str, color: str = "#005EB8") -> alt.Chart:
    base = alt.Chart(alt.Data(values=rows)).encode(
        x=alt.X(f"{value}:Q", title=title, scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
        y=alt.Y(f"{category}:N", title=None, sort="x"),
        tooltip=[alt.Tooltip(f"{category}:N"), alt.Tooltip(f"{value}:Q", format=".1%")])
    labels = base.mark_text(align="left", dx=4, color=TEXT).encode(text=alt.Text(f"{value}:Q", format=".0%"))
    return readable(base.mark_bar(color=color) + labels)


def category_chart(rows: list[dict]) -> alt.Chart:
    """Pass rate by case category; rows from evaluation_runs.category_rows."""
    return _bars(rows, "pass rate", "category", "Cases passed")


def axis_chart(rows: list[dict]) -> alt.Chart:
    """Mean rubric score by axis (accuracy, safety messaging, ...); rows from evaluation_runs.axis_rows."""
    return _bars(rows, "score", "axis", "Mean rubric score", color="#330072")


def latency_chart(rows: list[dict]) -> alt.Chart:
    """Answer time per case, by category (box and whisker); rows from evaluation_runs.latency_rows."""
    return readable(alt.Chart(alt.Data(values=rows))
            .mark_boxplot(color="#005EB8", extent="min-max")
            .encode(x=alt.X("latency (ms):Q", title="Time to answer (ms)"), y=alt.Y("category:N", title=None)))


def comparison_chart(rows: list[dict]) -> alt.Chart:
    """Pass rate by category for runs A and B side by side; rows from evaluation_runs.comparison_rows."""
    return readable(alt.Chart(alt.Data(values=rows))
            .mark_bar()
            .encode(x=alt.X("pass rate:Q", title="Cases passed", scale=alt.Scale(domain=[0, 1]),
                            axis=alt.Axis(format="%")),
                    y=alt.Y("category:N", title=None),
                    yOffset=alt.YOffset("run:N"),
                    color=alt.Color("run:N", scale=alt.Scale(domain=["A", "B"], range=["#AEB7BD", "#005EB8"]),
                                    legend=alt.Legend(title="Run", orient="bottom")),
                    tooltip=["run:N", "category:N", alt.Tooltip("pass rate:Q", format=".1%")]))
