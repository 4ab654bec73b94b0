/* dn-chart-plot.c: the drawing every chart shares: layout, nice ticks,
 * axes, switch lines, series, dots, legend, the hover readout and the
 * empty state. A chart kind only says what to draw (a DnChartSpec); this file
 * decides where.
 *
 * Units: the chart's width and height are in cairo user units, read as 96-dpi
 * pixels; style->font_size is in points (11 pt = 14.7 units). A PDF or SVG of
 * width w therefore looks like a PNG of width w, only sharper.
 */
#include "dn-chart-private.h"

#include <math.h>
#include <string.h>

#define PT_TO_UNITS (96.0 / 72.0)
#define MAX_TICKS 64
#define MAX_LEGEND DN_CHART_MAX_LEGEND

void dn_chart_spec_init (DnChartSpec *spec)
{
    memset (spec, 0, sizeof *spec);
    spec->series = g_array_new (FALSE, TRUE, sizeof (DnChartSeries));
}

void dn_chart_spec_clear (DnChartSpec *spec)
{
    if (spec->series != NULL)
        g_array_unref (spec->series);
    spec->series = NULL;
}

DnChartSeries *dn_chart_spec_add (DnChartSpec *spec, const char *label, DnRgb colour,
                                  const DnTrackerEpoch *rows, int n_rows, DnChartValueFn get,
                                  int arg)
{
    DnChartSeries s = {.label = label,
                       .colour = colour,
                       .alpha = 1.0,
                       .rows = rows,
                       .n_rows = n_rows,
                       .get = get,
                       .arg = arg};
    g_array_append_val (spec->series, s);
    return &g_array_index (spec->series, DnChartSeries, spec->series->len - 1);
}

/* ---- text ---- */

static void set_rgb (cairo_t *cr, DnRgb c, double alpha)
{
    cairo_set_source_rgba (cr, c.r, c.g, c.b, alpha);
}

static void set_font (cairo_t *cr, double size, gboolean bold)
{
    cairo_select_font_face (cr, "Sans", CAIRO_FONT_SLANT_NORMAL,
                            bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size (cr, size);
}

static double text_width (cairo_t *cr, const char *s)
{
    cairo_text_extents_t e;
    cairo_text_extents (cr, s, &e);
    return e.x_advance;
}

/* Draws s with its anchor at (x, y): ha 0 left, 0.5 centre, 1 right; y is
 * the vertical middle of the text line. */
static void draw_text (cairo_t *cr, const char *s, double x, double y, double ha)
{
    cairo_font_extents_t fe;
    cairo_font_extents (cr, &fe);
    cairo_move_to (cr, x - ha * text_width (cr, s), y + (fe.ascent - fe.descent) / 2.0);
    cairo_show_text (cr, s);
}

/* ---- numbers ---- */

static void format_tick (char *buf, gsize len, double v, double step)
{
    if (fabs (v) < step * 1e-6)
        v = 0.0;
    double a = fabs (v);
    if (v != 0.0 && (a >= 1e6 || a < 1e-4)) {
        g_ascii_formatd (buf, len, "%.3g", v);
        return;
    }
    int decimals = 0; /* as many as the step has: 0.25 needs 2 */
    while (decimals < 10 && fabs (step * pow (10, decimals) - round (step * pow (10, decimals))) >
                                1e-6 * step * pow (10, decimals))
        decimals++;
    char fmt[16];
    g_snprintf (fmt, sizeof fmt, "%%.%df", decimals);
    g_ascii_formatd (buf, len, fmt, v);
}

/* A step of 1, 2, 2.5 or 5 times a power of ten giving at most max_ticks
 * ticks; whole numbers only on an integer axis. */
static double nice_step (double range, int max_ticks, gboolean integer)
{
    if (!(range > 0))
        return 1.0;
    double raw = range / MAX (1, max_ticks);
    double mag = pow (10.0, floor (log10 (raw)));
    double f = raw / mag;
    double step = (f <= 1.0               ? 1.0
                   : f <= 2.0             ? 2.0
                   : f <= 2.5 && !integer ? 2.5
                   : f <= 5.0             ? 5.0
                                          : 10.0) *
                  mag;
    return integer ? MAX (1.0, round (step)) : step;
}

static int linear_ticks (double lo, double hi, int max_ticks, gboolean integer, double *ticks,
                         double *step_out)
{
    double step = nice_step (hi - lo, max_ticks, integer);
    *step_out = step;
    int n = 0;
    for (double t = ceil (lo / step - 1e-9) * step; t <= hi + step * 1e-9 && n < MAX_TICKS;
         t += step)
        ticks[n++] = t;
    return n;
}

/* Ticks of a log10 axis over [lo, hi] (in log10 units): decades, plus 2 and 5
 * within when only a few decades show. Values returned in log10 units. */
static int log_ticks_with (double lo, double hi, int max_ticks, const double *mult, int n_mult,
                           double *ticks)
{
    int n = 0;
    int d0 = (int) floor (lo), d1 = (int) ceil (hi);
    int every = MAX (1, (int) ceil ((d1 - d0) / (double) MAX (1, max_ticks)));
    for (int d = d0; d <= d1 && n < MAX_TICKS - n_mult; d++) {
        for (int k = 0; k < n_mult; k++) {
            double t = d + log10 (mult[k]);
            if ((k > 0 || (d - d0) % every == 0) && t >= lo - 1e-9 && t <= hi + 1e-9)
                ticks[n++] = t;
        }
    }
    return n;
}

/* Decades; 1, 2, 5 within them when there is room; within less than a decade
 * (a learning rate on a log axis), every digit, so the axis has at least two. */
static int log_ticks (double lo, double hi, int max_ticks, double *ticks)
{
    static const double mult[] = {1, 2, 5}, digits[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    int d0 = (int) floor (lo), d1 = (int) ceil (hi);
    gboolean subs = (d1 - d0) * 3 <= max_ticks;
    int n = log_ticks_with (lo, hi, max_ticks, mult, subs ? 3 : 1, ticks);
    if (n < 2 && !subs)
        n = log_ticks_with (lo, hi, max_ticks, mult, 3, ticks);
    if (n < 2)
        n = log_ticks_with (lo, hi, max_ticks, digits, 9, ticks);
    return n;
}

/* ---- layout ---- */

typedef enum { SWATCH_LINE, SWATCH_DASHED, SWATCH_DOT, SWATCH_RING, SWATCH_BAND } SwatchKind;

typedef struct {
    char label[96];
    DnRgb colour;
    double alpha;
    SwatchKind kind;
} LegendEntry;

typedef struct {
    cairo_t *cr;
    const DnChartPalette *pal;
    const DnChartStyle *style;
    double fs;             /* font size in user units */
    double px, py, pw, ph; /* the plot rectangle */
    double x0, x1, y0, y1; /* data ranges; y in log10 units when log_y */
    gboolean log_y;
    LegendEntry legend[MAX_LEGEND];
    int n_legend, legend_hidden;
} Plot;

static double map_x (const Plot *p, double x)
{
    return p->px + (x - p->x0) / (p->x1 - p->x0) * p->pw;
}

static double map_y (const Plot *p, double y)
{
    return p->py + p->ph - (y - p->y0) / (p->y1 - p->y0) * p->ph;
}

/* The value as plotted: log10 on a log axis; NaN when it cannot be shown. */
static double plot_value (const Plot *p, double v)
{
    if (!isfinite (v))
        return NAN;
    if (p->log_y)
        return v > 0 ? log10 (v) : NAN;
    return v;
}

static void add_legend (Plot *p, const char *label, DnRgb colour, double alpha, SwatchKind kind)
{
    for (int i = 0; i < p->n_legend; i++)
        if (strcmp (p->legend[i].label, label) == 0 && p->legend[i].kind == kind)
            return;
    if (p->n_legend >= MAX_LEGEND) {
        p->legend_hidden++;
        return;
    }
    LegendEntry *e = &p->legend[p->n_legend++];
    g_strlcpy (e->label, label, sizeof e->label);
    e->colour = colour;
    e->alpha = alpha;
    e->kind = kind;
}

static gboolean visible_x (const Plot *p, double x)
{
    return x >= p->x0 - 1e-9 && x <= p->x1 + 1e-9;
}

/* The person hid this series by clicking its legend entry. */
static gboolean is_hidden (const Plot *p, const char *label)
{
    const char *const *h = p->style->hidden;
    for (int i = 0; label != NULL && h != NULL && h[i] != NULL; i++)
        if (strcmp (h[i], label) == 0)
            return TRUE;
    return FALSE;
}

/* Data range of everything the chart shows within [x0, x1]. */
static gboolean y_range (const Plot *p, const DnChartSpec *spec, double *lo, double *hi)
{
    double mn = INFINITY, mx = -INFINITY;
    for (guint s = 0; s < spec->series->len; s++) {
        const DnChartSeries *ser = &g_array_index (spec->series, DnChartSeries, s);
        if (is_hidden (p, ser->label))
            continue;
        for (int i = 0; i < ser->n_rows; i++) {
            if (!visible_x (p, ser->rows[i].epoch))
                continue;
            double v = plot_value (p, ser->get (&ser->rows[i], ser->arg));
            if (isfinite (v)) {
                mn = MIN (mn, v);
                mx = MAX (mx, v);
            }
        }
    }
    for (int i = 0; i < spec->n_dots; i++) {
        double v = plot_value (p, spec->dots[i].y);
        if (visible_x (p, spec->dots[i].x) && isfinite (v)) {
            mn = MIN (mn, v);
            mx = MAX (mx, v);
        }
    }
    *lo = mn;
    *hi = mx;
    return mn <= mx;
}

/* Positive finite extremes, to decide on a log axis: their ratio, 0 when a value
 * shown is not positive. */
static double positive_span (const Plot *p, const DnChartSpec *spec)
{
    double mn = INFINITY, mx = 0;
    for (guint s = 0; s < spec->series->len; s++) {
        const DnChartSeries *ser = &g_array_index (spec->series, DnChartSeries, s);
        for (int i = 0; i < ser->n_rows; i++) {
            double v = ser->get (&ser->rows[i], ser->arg);
            if (!visible_x (p, ser->rows[i].epoch) || !isfinite (v))
                continue;
            if (v <= 0)
                return 0.0;
            mn = MIN (mn, v);
            mx = MAX (mx, v);
        }
    }
    return mn <= mx ? mx / mn : 0.0;
}

/* ---- pieces ---- */

static void draw_swatch (Plot *p, const LegendEntry *e, double x, double y, double w)
{
    cairo_t *cr = p->cr;
    cairo_new_path (cr);
    set_rgb (cr, e->colour, e->alpha);
    switch (e->kind) {
    case SWATCH_BAND:
        cairo_rectangle (cr, x, y - p->fs * 0.35, w, p->fs * 0.7);
        cairo_fill (cr);
        break;
    case SWATCH_DOT:
        cairo_arc (cr, x + w / 2, y, p->fs * 0.3, 0, 2 * G_PI);
        cairo_fill (cr);
        break;
    case SWATCH_RING:
        cairo_set_line_width (cr, p->fs * 0.14);
        cairo_arc (cr, x + w / 2, y, p->fs * 0.4, 0, 2 * G_PI);
        cairo_stroke (cr);
        break;
    case SWATCH_LINE:
    case SWATCH_DASHED: {
        double dash[] = {p->fs * 0.3, p->fs * 0.2};
        cairo_set_line_width (cr, p->fs * 0.13);
        cairo_set_dash (cr, dash, e->kind == SWATCH_DASHED ? 2 : 0, 0);
        cairo_move_to (cr, x, y);
        cairo_line_to (cr, x + w, y);
        cairo_stroke (cr);
        cairo_set_dash (cr, NULL, 0, 0);
        break;
    }
    }
}

static double legend_width (Plot *p)
{
    set_font (p->cr, p->fs * 0.9, FALSE);
    double w = 0;
    for (int i = 0; i < p->n_legend; i++)
        w = MAX (w, text_width (p->cr, p->legend[i].label));
    return p->n_legend == 0 ? 0 : w + p->fs * 3.2;
}

/* Entry i with its swatch at (x, cy), w wide; a hidden series' entry is struck
 * through. Its box goes to the plot area, for clicks. */
static void draw_legend_entry (Plot *p, int i, double x, double cy, double w)
{
    cairo_t *cr = p->cr;
    const LegendEntry *e = &p->legend[i];
    gboolean hidden = is_hidden (p, e->label);
    draw_swatch (p, e, x + p->fs * 0.4, cy, p->fs * 1.8);
    set_rgb (cr, hidden ? p->pal->muted : p->pal->fg, 1.0);
    draw_text (cr, e->label, x + p->fs * 2.6, cy, 0.0);
    if (hidden) {
        cairo_set_line_width (cr, 1.0);
        cairo_move_to (cr, x + p->fs * 0.3, round (cy) + 0.5);
        cairo_line_to (cr, x + p->fs * 2.6 + text_width (cr, e->label), round (cy) + 0.5);
        cairo_stroke (cr);
    }
    DnChartPlotArea *a = p->style->plot_area;
    if (a != NULL && a->n_legend < DN_CHART_MAX_LEGEND) {
        DnChartLegendBox *b = &a->legend[a->n_legend++];
        *b = (DnChartLegendBox){x, cy - p->fs * 0.6, w, p->fs * 1.2, ""};
        g_strlcpy (b->label, e->label, sizeof b->label);
    }
}

/* Entries in rows under the x axis label when the plot has no room for them. */
static double legend_below_height (Plot *p, double width)
{
    set_font (p->cr, p->fs * 0.9, FALSE);
    double x = 0, rows = p->n_legend > 0 ? 1 : 0;
    for (int i = 0; i < p->n_legend; i++) {
        double w = text_width (p->cr, p->legend[i].label) + p->fs * 3.4;
        if (x > 0 && x + w > width)
            rows++, x = 0;
        x += w;
    }
    return rows * p->fs * 1.25;
}

static void draw_legend_below (Plot *p, double x0, double y, double width)
{
    set_font (p->cr, p->fs * 0.9, FALSE);
    double x = 0, cy = y + p->fs * 0.6;
    for (int i = 0; i < p->n_legend; i++) {
        double w = text_width (p->cr, p->legend[i].label) + p->fs * 3.4;
        if (x > 0 && x + w > width)
            cy += p->fs * 1.25, x = 0;
        draw_legend_entry (p, i, x0 + x, cy, w);
        set_font (p->cr, p->fs * 0.9, FALSE);
        x += w;
    }
}

static void draw_legend (Plot *p, double x, double y, double w, double max_h, gboolean panel)
{
    cairo_t *cr = p->cr;
    double line = p->fs * 1.25;
    int fits = MAX (1, (int) ((max_h - p->fs * 0.6) / line));
    int n = p->n_legend, hidden = p->legend_hidden;
    if (n > fits) {
        hidden += n - (fits - 1);
        n = fits - 1;
    }
    double h = (n + (hidden > 0)) * line + p->fs * 0.6;
    if (panel) {
        set_rgb (cr, p->pal->panel, 0.85);
        cairo_rectangle (cr, x, y, w, h);
        cairo_fill (cr);
        set_rgb (cr, p->pal->grid, 1.0);
        cairo_set_line_width (cr, 1.0);
        cairo_rectangle (cr, x + 0.5, y + 0.5, w - 1, h - 1);
        cairo_stroke (cr);
    }
    set_font (cr, p->fs * 0.9, FALSE);
    double cy = y + p->fs * 0.3 + line / 2;
    for (int i = 0; i < n; i++, cy += line)
        draw_legend_entry (p, i, x, cy, w);
    if (hidden > 0) {
        char more[48];
        g_snprintf (more, sizeof more, "and %d more", hidden);
        set_rgb (cr, p->pal->muted, 1.0);
        draw_text (cr, more, x + p->fs * 2.6, cy, 0.0);
    }
}

static void draw_series_as (Plot *p, const DnChartSeries *s, double w, double alpha, double width);

static void draw_series (Plot *p, const DnChartSeries *s)
{
    if (is_hidden (p, s->label))
        return;
    double w = s->faint || s->label == NULL ? 0.0 : CLAMP (p->style->smoothing, 0.0, 0.99);
    if (w > 0) /* the raw line stays readable behind the smoothed one */
        draw_series_as (p, s, 0.0, s->alpha * 0.3, 0.7);
    draw_series_as (p, s, w, s->alpha, 1.0);
}

static void draw_series_as (Plot *p, const DnChartSeries *s, double w, double alpha, double width)
{
    cairo_t *cr = p->cr;
    double lw =
        p->fs * (s->faint ? 0.08 : 0.13) * (s->line_width > 0 ? s->line_width / 1.6 : 1.0) * width;
    set_rgb (cr, s->colour, alpha);
    cairo_set_line_width (cr, lw);
    cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
    cairo_set_line_cap (cr, CAIRO_LINE_CAP_ROUND);
    double dash[] = {p->fs * 0.4, p->fs * 0.25};
    cairo_set_dash (cr, dash, s->dashed ? 2 : 0, 0);
    gboolean open = FALSE;
    /* w > 0: the exponential moving average with weight w on the past, corrected
     * for its start as TensorBoard does */
    double ema = 0.0, norm = 0.0;
    for (int i = 0; i < s->n_rows; i++) {
        double x = s->rows[i].epoch;
        double v = plot_value (p, s->get (&s->rows[i], s->arg));
        if (w > 0 && isfinite (v)) {
            double raw = s->get (&s->rows[i], s->arg);
            ema = w * ema + (1 - w) * raw;
            norm = w * norm + (1 - w);
            v = plot_value (p, ema / norm);
        }
        /* one point beyond each edge keeps the line continuous when zoomed */
        if (x < p->x0 - 1 || x > p->x1 + 1 || !isfinite (v)) {
            open = FALSE;
            continue;
        }
        double X = map_x (p, x), Y = map_y (p, v);
        gboolean prev_ok = i > 0 && isfinite (plot_value (p, s->get (&s->rows[i - 1], s->arg)));
        gboolean next_ok =
            i + 1 < s->n_rows && isfinite (plot_value (p, s->get (&s->rows[i + 1], s->arg)));
        if (!prev_ok && !next_ok) { /* an isolated point: a dot, or it would not show */
            cairo_stroke (cr);
            cairo_arc (cr, X, Y, lw * 1.4, 0, 2 * G_PI);
            cairo_fill (cr);
            open = FALSE;
            continue;
        }
        if (open)
            cairo_line_to (cr, X, Y);
        else
            cairo_move_to (cr, X, Y);
        open = TRUE;
    }
    cairo_stroke (cr);
    cairo_set_dash (cr, NULL, 0, 0);
}

static void draw_dot (Plot *p, const DnChartDot *d)
{
    double v = plot_value (p, d->y);
    if (!visible_x (p, d->x) || !isfinite (v))
        return;
    cairo_t *cr = p->cr;
    double X = map_x (p, d->x), Y = map_y (p, v);
    cairo_new_path (cr);
    if (d->ring) { /* around whatever dot shares the spot */
        cairo_set_line_width (cr, p->fs * 0.3);
        set_rgb (cr, p->pal->bg, 1.0);
        cairo_arc (cr, X, Y, p->fs * 0.55, 0, 2 * G_PI);
        cairo_stroke (cr);
        cairo_set_line_width (cr, p->fs * 0.14);
        set_rgb (cr, d->colour, 1.0);
        cairo_arc (cr, X, Y, p->fs * 0.55, 0, 2 * G_PI);
        cairo_stroke (cr);
        return;
    }
    set_rgb (cr, p->pal->bg, 1.0);
    cairo_arc (cr, X, Y, p->fs * 0.42, 0, 2 * G_PI);
    cairo_fill (cr);
    set_rgb (cr, d->colour, 1.0);
    cairo_arc (cr, X, Y, p->fs * 0.3, 0, 2 * G_PI);
    cairo_fill (cr);
}

/* A full-height line at history row `row`, dashed for a retry; returns its x. */
static double switch_line (Plot *p, int row, DnRgb colour, gboolean dashed)
{
    cairo_t *cr = p->cr;
    double dash[] = {p->fs * 0.45, p->fs * 0.3};
    double X = round (map_x (p, row)) + 0.5;
    set_rgb (cr, colour, 0.9);
    cairo_set_line_width (cr, MAX (1.0, p->fs * 0.1));
    cairo_set_dash (cr, dash, dashed ? 2 : 0, 0);
    cairo_move_to (cr, X, p->py);
    cairo_line_to (cr, X, p->py + p->ph);
    cairo_stroke (cr);
    cairo_set_dash (cr, NULL, 0, 0);
    return X;
}

static void draw_switches (Plot *p, const DnChartData *d, const DnChartSpec *spec)
{
    cairo_t *cr = p->cr;
    double last_label_x = -INFINITY;
    set_font (cr, p->fs * 0.8, FALSE);
    for (int i = 0; i < d->n_switches; i++) {
        const DnTrackerSwitch *s = &d->switches[i];
        gboolean retry = s->kind == DN_TRACKER_SWITCH_RETRY;
        /* Perforated Backpropagation: red into the dendrite phase */
        if (s->end_epoch != s->epoch && visible_x (p, s->epoch))
            switch_line (p, s->epoch, p->pal->dendrite_phase, retry);
        /* blue: back to neuron training with the new set */
        if (s->end_epoch < 0 || !visible_x (p, s->end_epoch))
            continue;
        double X = switch_line (p, s->end_epoch, p->pal->switch_line, retry);
        if (spec->switch_labels) {
            /* the dendrite-set count from here on, where there is room */
            char num[16];
            g_snprintf (num, sizeof num, "%d", s->dendrites);
            double w = text_width (cr, num);
            if (X - w / 2 > last_label_x + p->fs * 0.3) {
                set_rgb (cr, p->pal->switch_line, 1.0);
                draw_text (cr, num, X, p->py - p->fs * 0.5, 0.5);
                last_label_x = X + w / 2;
            }
        }
    }
}

/* Faint red bands over epochs trained in dendrite mode (Perforated Backpropagation). */
static gboolean draw_dendrite_phases (Plot *p, const DnChartData *d)
{
    gboolean any = FALSE;
    set_rgb (p->cr, p->pal->dendrite_phase, 0.12);
    for (int i = 0; i < d->n_rows; i++) {
        if (d->rows[i].mode != DN_TRACKER_MODE_DENDRITE || !visible_x (p, i))
            continue;
        double a = map_x (p, MAX (p->x0, i - 0.5)), b = map_x (p, MIN (p->x1, i + 0.5));
        cairo_rectangle (p->cr, a, p->py, b - a, p->ph);
        any = TRUE;
    }
    cairo_fill (p->cr);
    return any;
}

static void draw_hover (Plot *p, const DnChartData *d, const DnChartSpec *spec, double width)
{
    int e = p->style->hover_epoch;
    if (e < 0 || !visible_x (p, e))
        return;
    cairo_t *cr = p->cr;
    double X = round (map_x (p, e)) + 0.5;
    double dash[] = {p->fs * 0.2, p->fs * 0.2};
    set_rgb (cr, p->pal->fg, 0.7);
    cairo_set_line_width (cr, 1.0);
    cairo_set_dash (cr, dash, 2, 0);
    cairo_move_to (cr, X, p->py);
    cairo_line_to (cr, X, p->py + p->ph);
    cairo_stroke (cr);
    cairo_set_dash (cr, NULL, 0, 0);

    /* the readout: "epoch 12" and each current series' value there */
    char lines[MAX_LEGEND][128];
    DnRgb colours[MAX_LEGEND];
    int n = 0;
    g_snprintf (lines[n], sizeof lines[n], "epoch %d", e + 1);
    colours[n++] = p->pal->fg;
    for (guint s = 0; s < spec->series->len && n < MAX_LEGEND; s++) {
        const DnChartSeries *ser = &g_array_index (spec->series, DnChartSeries, s);
        if (ser->faint || ser->label == NULL)
            continue;
        for (int i = 0; i < ser->n_rows; i++) {
            if (ser->rows[i].epoch != e)
                continue;
            double v = ser->get (&ser->rows[i], ser->arg);
            if (isfinite (v)) {
                char num[32];
                g_snprintf (lines[n], sizeof lines[n], "%s: %s", ser->label,
                            dn_chart_format_short (num, sizeof num, v));
                colours[n++] = ser->colour;
            }
            break;
        }
    }
    set_font (cr, p->fs * 0.85, FALSE);
    double w = 0;
    for (int i = 0; i < n; i++)
        w = MAX (w, text_width (cr, lines[i]));
    w += p->fs * 1.6;
    double line = p->fs * 1.15, h = n * line + p->fs * 0.5;
    double bx = X + p->fs * 0.5;
    if (bx + w > width - 2)
        bx = X - p->fs * 0.5 - w;
    double by = p->py + p->fs * 0.3;
    set_rgb (cr, p->pal->panel, 0.92);
    cairo_rectangle (cr, bx, by, w, h);
    cairo_fill (cr);
    set_rgb (cr, p->pal->muted, 1.0);
    cairo_set_line_width (cr, 1.0);
    cairo_rectangle (cr, round (bx) + 0.5, round (by) + 0.5, round (w) - 1, round (h) - 1);
    cairo_stroke (cr);
    for (int i = 0; i < n; i++) {
        double cy = by + p->fs * 0.25 + line * (i + 0.5);
        if (i > 0) {
            set_rgb (cr, colours[i], 1.0);
            cairo_rectangle (cr, bx + p->fs * 0.4, cy - p->fs * 0.25, p->fs * 0.5, p->fs * 0.5);
            cairo_fill (cr);
        }
        set_rgb (cr, p->pal->fg, 1.0);
        draw_text (cr, lines[i], bx + p->fs * 1.2, cy, 0.0);
    }
}

/* ---- the chart ---- */

static void collect_legend (Plot *p, const DnChartData *d, const DnChartSpec *spec)
{
    for (guint s = 0; s < spec->series->len; s++) {
        const DnChartSeries *ser = &g_array_index (spec->series, DnChartSeries, s);
        if (ser->label != NULL)
            add_legend (p, ser->label, ser->colour, ser->faint ? MAX (ser->alpha, 0.5) : ser->alpha,
                        ser->dashed ? SWATCH_DASHED : SWATCH_LINE);
    }
    gboolean add = FALSE, retry = FALSE, phase = FALSE, red = FALSE;
    for (int i = 0; i < d->n_switches; i++) {
        red |=
            d->switches[i].end_epoch != d->switches[i].epoch && visible_x (p, d->switches[i].epoch);
        if (!visible_x (p, d->switches[i].end_epoch))
            continue;
        if (d->switches[i].kind == DN_TRACKER_SWITCH_RETRY)
            retry = TRUE;
        else
            add = TRUE;
    }
    for (int i = 0; i < d->n_rows; i++)
        phase |= d->rows[i].mode == DN_TRACKER_MODE_DENDRITE && visible_x (p, i);
    if (red)
        add_legend (p, "dendrite phase starts", p->pal->dendrite_phase, 0.9, SWATCH_LINE);
    if (add)
        add_legend (p, "+1 dendrite set", p->pal->switch_line, 0.9, SWATCH_LINE);
    if (retry)
        add_legend (p, "retry: fresh dendrite set", p->pal->switch_line, 0.9, SWATCH_DASHED);
    if (phase)
        add_legend (p, "dendrite learning", p->pal->dendrite_phase, 0.25, SWATCH_BAND);
    for (int i = 0; i < spec->n_dots; i++)
        if (spec->dots[i].label[0] != '\0' && visible_x (p, spec->dots[i].x))
            add_legend (p, spec->dots[i].label, spec->dots[i].colour, 1.0,
                        spec->dots[i].ring ? SWATCH_RING : SWATCH_DOT);
}

/* Data points of the chart that fall inside a rectangle. */
static int points_in (const Plot *p, const DnChartSpec *spec, double x, double y, double w,
                      double h)
{
    int n = 0;
    for (guint s = 0; s < spec->series->len; s++) {
        const DnChartSeries *ser = &g_array_index (spec->series, DnChartSeries, s);
        for (int i = 0; i < ser->n_rows; i++) {
            double v = plot_value (p, ser->get (&ser->rows[i], ser->arg));
            if (!visible_x (p, ser->rows[i].epoch) || !isfinite (v))
                continue;
            double X = map_x (p, ser->rows[i].epoch), Y = map_y (p, v);
            n += X >= x && X <= x + w && Y >= y && Y <= y + h;
        }
    }
    return n;
}

static void draw_empty (Plot *p, const DnChartSpec *spec, const char *text, const char *detail)
{
    cairo_t *cr = p->cr;
    double dash[] = {p->fs * 0.3, p->fs * 0.3};
    set_rgb (cr, p->pal->grid, 1.0);
    cairo_set_line_width (cr, 1.0);
    cairo_set_dash (cr, dash, 2, 0);
    cairo_rectangle (cr, round (p->px) + 0.5, round (p->py) + 0.5, round (p->pw), round (p->ph));
    cairo_stroke (cr);
    cairo_set_dash (cr, NULL, 0, 0);
    double cx = p->px + p->pw / 2, cy = p->py + p->ph / 2;
    /* the detail, wrapped at words to the plot's width */
    GPtrArray *lines = g_ptr_array_new_with_free_func (g_free);
    set_font (cr, p->fs * 0.85, FALSE);
    if (detail != NULL) {
        g_auto (GStrv) words = g_strsplit (detail, " ", -1);
        GString *line = g_string_new (NULL);
        for (int i = 0; words[i] != NULL; i++) {
            gsize was = line->len;
            g_string_append_printf (line, "%s%s", was > 0 ? " " : "", words[i]);
            if (was > 0 && text_width (cr, line->str) > p->pw * 0.92) {
                g_ptr_array_add (lines, g_strndup (line->str, was));
                g_string_assign (line, words[i]);
            }
        }
        g_ptr_array_add (lines, g_string_free (line, FALSE));
    }
    double step = p->fs * 1.2;
    double y = cy - lines->len * step / 2;
    set_rgb (cr, p->pal->muted, 1.0);
    for (guint i = 0; i < lines->len; i++)
        draw_text (cr, g_ptr_array_index (lines, i), cx, y + step * (i + 1), 0.5);
    set_font (cr, p->fs * 1.05, TRUE);
    draw_text (cr, text, cx, y - p->fs * 0.2, 0.5);
    g_ptr_array_unref (lines);
}

void dn_chart_plot (cairo_t *cr, const DnChartData *d, const DnChartSpec *spec, double width,
                    double height, const DnChartStyle *style, const DnChartPalette *pal)
{
    Plot p = {.cr = cr, .pal = pal, .style = style};
    p.fs = (style->font_size > 0 ? style->font_size : 11.0) * PT_TO_UNITS;
    double fs = p.fs, pad = fs * 0.7;

    cairo_save (cr);
    cairo_rectangle (cr, 0, 0, width, height);
    cairo_clip (cr);
    if (!style->transparent) {
        set_rgb (cr, pal->bg, 1.0);
        cairo_paint (cr);
    }

    /* x range: every row ever drawn, the last N when zoomed */
    int last = MAX (dn_chart_data_last_epoch (d), spec->x_last);
    p.x1 = MAX (last, 1);
    p.x0 = style->last_n_epochs > 0 ? MAX (0, last - style->last_n_epochs + 1) : 0;
    if (p.x1 - p.x0 < 1)
        p.x0 = p.x1 - 1;
    if (style->x_to > style->x_from && last > 0) { /* dragged out by hand */
        p.x0 = CLAMP (style->x_from, 0, last - 1);
        p.x1 = CLAMP (style->x_to, p.x0 + 1, last);
    }
    if (last <= 0) /* one epoch: in the middle, not on the axis */
        p.x0 = -1, p.x1 = 1;
    double ratio = positive_span (&p, spec);
    p.log_y = (spec->allow_log && ratio > 100.0) || (style->log_y && ratio >= 1.0);
    double ylo, yhi;
    gboolean has_data = y_range (&p, spec, &ylo, &yhi);
    if (has_data) {
        if (spec->y_from_zero && !p.log_y)
            ylo = MIN (0.0, ylo);
        double span = yhi - ylo;
        if (span <= 0)
            span = p.log_y ? 1.0 : MAX (fabs (yhi) * 0.1, 1e-3);
        double margin = span * 0.06;
        p.y0 = (spec->y_from_zero && !p.log_y && ylo >= 0) ? ylo : ylo - margin;
        p.y1 = yhi + margin;
        if (yhi == ylo && !(spec->y_from_zero && ylo >= 0))
            p.y0 = ylo - span / 2, p.y1 = yhi + span / 2;
        collect_legend (&p, d, spec);
    }

    /* layout: title on top; y label, tick labels, plot; legend to the right
     * when the chart is wide enough, else inside the plot */
    double top = pad + fs * 1.3 + pad * 0.6 + (spec->switch_labels && has_data ? fs * 0.9 : 0);
    double bottom = height - pad - fs * 2.4;
    double lw = legend_width (&p);
    gboolean legend_outside = lw > 0 && width - lw - pad >= width * 0.62;
    double right = width - pad - (legend_outside ? lw + pad * 0.5 : 0);
    p.py = top;
    p.ph = MAX (bottom - top, fs);

    double yt[MAX_TICKS], ystep = 1.0;
    int nyt = 0;
    char ylab[MAX_TICKS][32];
    double ylab_w = 0;
    double legend_h = (p.n_legend + (p.legend_hidden > 0)) * fs * 1.25 + fs * 0.6;
    gboolean legend_inside = FALSE, legend_below = FALSE;
    /* a second pass when the legend goes below the plot, which then is lower */
    for (int pass = 0; pass < 2; pass++) {
        nyt = 0;
        ylab_w = 0;
        set_font (cr, fs * 0.85, FALSE);
        if (has_data) {
            int max_y = MAX (3, (int) (p.ph / (fs * 2.4)));
            nyt = p.log_y ? log_ticks (p.y0, p.y1, max_y, yt)
                          : linear_ticks (p.y0, p.y1, max_y, FALSE, yt, &ystep);
            for (int i = 0; i < nyt; i++) {
                if (p.log_y)
                    g_ascii_formatd (ylab[i], sizeof ylab[i], "%g", pow (10.0, yt[i]));
                else
                    format_tick (ylab[i], sizeof ylab[i], yt[i], ystep);
                ylab_w = MAX (ylab_w, text_width (cr, ylab[i]));
            }
        }
        p.px = pad + fs * 1.2 + pad * 0.5 + ylab_w + fs * 0.4;
        p.pw = MAX (right - p.px, fs);
        if (pass == 0 && legend_outside && legend_h > height - p.py - pad) {
            /* too tall beside the plot: under it, when that leaves the plot most of the height */
            double below = legend_below_height (&p, width - 2 * pad);
            if (below <= height * 0.3) {
                legend_outside = FALSE;
                right = width - pad;
                legend_below = TRUE;
                p.ph = MAX (bottom - below - top, fs);
                continue;
            }
        }
        if (pass > 0 || legend_outside || lw <= 0)
            break;
        legend_inside = lw <= p.pw * 0.55 && legend_h <= p.ph * 0.6;
        if (legend_inside)
            break;
        /* too big for the plot: in rows under it, never left out */
        legend_below = TRUE;
        p.ph = MAX (bottom - legend_below_height (&p, width - 2 * pad) - top, fs);
    }
    if (style->plot_area != NULL)
        *style->plot_area = (DnChartPlotArea){has_data, p.px, p.py, p.pw, p.ph, p.x0, p.x1};

    /* title, centred over the plot */
    set_font (cr, fs * 1.1, TRUE);
    set_rgb (cr, pal->fg, 1.0);
    draw_text (cr, spec->title, p.px + p.pw / 2, pad + fs * 0.65, 0.5);

    if (!has_data) {
        draw_empty (&p, spec, spec->empty_text != NULL ? spec->empty_text : "No epochs yet",
                    spec->empty_text != NULL ? spec->empty_detail
                                             : "Scores appear here after the first epoch");
        cairo_restore (cr);
        return;
    }

    /* grid and y ticks */
    cairo_set_line_width (cr, 1.0);
    set_font (cr, fs * 0.85, FALSE);
    for (int i = 0; i < nyt; i++) {
        double Y = round (map_y (&p, yt[i])) + 0.5;
        set_rgb (cr, pal->grid, 1.0);
        cairo_move_to (cr, p.px, Y);
        cairo_line_to (cr, p.px + p.pw, Y);
        cairo_stroke (cr);
        set_rgb (cr, pal->muted, 1.0);
        draw_text (cr, ylab[i], p.px - fs * 0.4, Y, 1.0);
    }
    /* x ticks: whole epochs, counted from 1 as people and the tracker's
     * messages count them (history row r is epoch r + 1) */
    char widest[32];
    g_snprintf (widest, sizeof widest, "%d", (int) p.x1 + 1);
    double xlab_w = text_width (cr, widest) + fs * 1.5;
    double xt[MAX_TICKS], xstep;
    int nxt = linear_ticks (p.x0 + 1, p.x1 + 1, MAX (2, (int) (p.pw / xlab_w)), TRUE, xt, &xstep);
    for (int i = 0; i < nxt; i++) {
        if (xt[i] < 1)
            continue;
        double X = round (map_x (&p, xt[i] - 1)) + 0.5;
        set_rgb (cr, pal->grid, 1.0);
        cairo_move_to (cr, X, p.py);
        cairo_line_to (cr, X, p.py + p.ph);
        cairo_stroke (cr);
        char lab[32];
        g_snprintf (lab, sizeof lab, "%d", (int) xt[i]);
        set_rgb (cr, pal->muted, 1.0);
        draw_text (cr, lab, X, p.py + p.ph + fs * 0.75, 0.5);
    }
    /* axis labels */
    set_font (cr, fs * 0.9, FALSE);
    set_rgb (cr, pal->fg, 1.0);
    draw_text (cr, "Epoch", p.px + p.pw / 2, p.py + p.ph + fs * 1.95, 0.5);
    cairo_save (cr);
    cairo_translate (cr, pad + fs * 0.6, p.py + p.ph / 2);
    cairo_rotate (cr, -G_PI / 2);
    draw_text (cr, spec->y_label, 0, 0, 0.5);
    cairo_restore (cr);

    /* the data, clipped to the plot: bands, switch lines, faint rows, series, dots */
    cairo_save (cr);
    cairo_rectangle (cr, p.px, p.py - fs * 1.2, p.pw, p.ph + fs * 1.2);
    cairo_clip (cr);
    draw_dendrite_phases (&p, d);
    draw_switches (&p, d, spec);
    cairo_restore (cr);
    cairo_save (cr);
    /* a line's last point and its round cap sit on the plot's edge: keep them whole */
    cairo_rectangle (cr, p.px, p.py - fs * 0.3, p.pw + fs * 0.3, p.ph + fs * 0.6);
    cairo_clip (cr);
    /* rolled-back rows behind; current series in reverse, the first on top */
    for (guint s = 0; s < spec->series->len; s++) {
        const DnChartSeries *ser = &g_array_index (spec->series, DnChartSeries, s);
        if (ser->faint)
            draw_series (&p, ser);
    }
    for (int s = (int) spec->series->len - 1; s >= 0; s--) {
        const DnChartSeries *ser = &g_array_index (spec->series, DnChartSeries, s);
        if (!ser->faint)
            draw_series (&p, ser);
    }
    cairo_restore (cr);
    for (int i = 0; i < spec->n_dots; i++)
        draw_dot (&p, &spec->dots[i]);

    /* axes */
    set_rgb (cr, pal->muted, 1.0);
    cairo_set_line_width (cr, 1.0);
    cairo_move_to (cr, round (p.px) + 0.5, p.py);
    cairo_line_to (cr, round (p.px) + 0.5, round (p.py + p.ph) + 0.5);
    cairo_line_to (cr, p.px + p.pw, round (p.py + p.ph) + 0.5);
    cairo_stroke (cr);

    /* inside the plot only where it leaves the data readable; a widget too
     * small for it still has the hover readout, which names every series */
    if (legend_outside)
        draw_legend (&p, right + pad * 0.5, p.py, lw, height - p.py - pad, FALSE);
    else if (legend_below)
        draw_legend_below (&p, pad, p.py + p.ph + fs * 2.4, width - 2 * pad);
    else if (legend_inside) {
        /* the corner hiding the fewest data points */
        double best_x = 0, best_y = 0;
        int fewest = G_MAXINT;
        for (int corner = 0; corner < 4; corner++) {
            double x = corner % 2 ? p.px + p.pw - fs * 0.5 - lw : p.px + fs * 0.5;
            double y = corner / 2 ? p.py + p.ph - fs * 0.5 - legend_h : p.py + fs * 0.5;
            int n = points_in (&p, spec, x, y, lw, legend_h);
            if (n < fewest)
                fewest = n, best_x = x, best_y = y;
        }
        draw_legend (&p, best_x, best_y, lw, p.ph - fs, TRUE);
    }
    draw_hover (&p, d, spec, width);
    cairo_restore (cr);
}
