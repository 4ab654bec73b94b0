/* dn-chart-kinds.c: what each of the four charts shows (spec
 * perforated-dendrites.md §10.3, §12.3) and in which colours, as a
 * DnChartSpec that dn-chart-plot.c lays out and draws.
 *
 * Every chart draws the switch lines: one blue line per dendrite addition,
 * solid for a new set and dashed for a retry (a fresh set replacing a
 * rejected one). The reference draws a red and a blue line at the same epoch
 * for each GD switch and users see only the blue one (§10.3), so one line is
 * the same picture with the retries told apart.
 */
#include "dn-chart-private.h"

#include <math.h>

/* ---- colours ---- */

static DnRgb hex (unsigned v)
{
    return (DnRgb){((v >> 16) & 0xff) / 255.0, ((v >> 8) & 0xff) / 255.0, (v & 0xff) / 255.0};
}

void dn_chart_palette (DnChartPalette *p, gboolean dark)
{
    /* GNOME palette shades: light ones read on white, dark ones on #1e1e1e.
     * Blue and red keep the reference's meaning (blue: back to neuron
     * learning, red: dendrite learning), so no data series uses them. */
    if (!dark) {
        *p = (DnChartPalette){
            .bg = hex (0xffffff),
            .fg = hex (0x241f31),
            .muted = hex (0x5e5c64),
            .grid = hex (0xe4e4e4),
            .panel = hex (0xffffff),
            .val = hex (0xe66100),
            .running = hex (0x813d9c),
            .test = hex (0x0f7f79),
            .extra = {hex (0x865e3c), hex (0xb8860b), hex (0xc2187a), hex (0x5e5c64)},
            .times = hex (0x0f7f79),
            .lr = hex (0x813d9c),
            .switch_line = hex (0x1c71d8),
            .best = hex (0x1c71d8),
            .improved = hex (0x26a269),
            .old_val = hex (0x1c71d8),
            .old_extra = hex (0xc01c28),
            .dendrite_phase = hex (0xc01c28),
        };
    } else {
        *p = (DnChartPalette){
            .bg = hex (0x1e1e1e),
            .fg = hex (0xf6f5f4),
            .muted = hex (0xb0afac),
            .grid = hex (0x3a3a3a),
            .panel = hex (0x2a2a2a),
            .val = hex (0xffa348),
            .running = hex (0xdc8add),
            .test = hex (0x5bc8af),
            .extra = {hex (0xcdab8f), hex (0xf8e45c), hex (0xff7eb6), hex (0xc0bfbc)},
            .times = hex (0x5bc8af),
            .lr = hex (0xdc8add),
            .switch_line = hex (0x62a0ea),
            .best = hex (0x62a0ea),
            .improved = hex (0x57e389),
            .old_val = hex (0x62a0ea),
            .old_extra = hex (0xf66151),
            .dendrite_phase = hex (0xf66151),
        };
    }
}

DnRgb dn_chart_rainbow (int i, int n, gboolean dark)
{
    /* hue from orange-red to violet, as a rainbow map (not pure red: that
     * means dendrite learning); HSV to RGB */
    double h = n <= 1 ? 25.0 : 25.0 + 290.0 * i / (n - 1);
    double s = dark ? 0.55 : 0.85, v = dark ? 0.98 : 0.78;
    double c = v * s, hp = h / 60.0, x = c * (1 - fabs (fmod (hp, 2.0) - 1)), m = v - c;
    double r = 0, g = 0, b = 0;
    if (hp < 1)
        r = c, g = x;
    else if (hp < 2)
        r = x, g = c;
    else if (hp < 3)
        g = c, b = x;
    else if (hp < 4)
        g = x, b = c;
    else if (hp < 5)
        r = x, b = c;
    else
        r = c, b = x;
    return (DnRgb){r + m, g + m, b + m};
}

/* ---- the charts ---- */

static double get_val (const DnTrackerEpoch *e, int arg)
{
    return e->val;
}

static double get_running (const DnTrackerEpoch *e, int arg)
{
    return e->running;
}

static double get_test (const DnTrackerEpoch *e, int arg)
{
    return e->test;
}

static double get_extra (const DnTrackerEpoch *e, int arg)
{
    return e->extra[arg];
}

static double get_seconds (const DnTrackerEpoch *e, int arg)
{
    return e->seconds;
}

static double get_lr (const DnTrackerEpoch *e, int arg)
{
    return e->lr;
}

static double get_corr (const DnTrackerEpoch *e, int arg)
{
    return e->correlation[arg];
}

static double get_pb_best_ever (const DnTrackerEpoch *e, int arg)
{
    return e->pb_best_ever[arg];
}

static double get_pb_phase_best (const DnTrackerEpoch *e, int arg)
{
    return e->pb_phase_best[arg];
}

static gboolean any_finite (const DnTrackerEpoch *rows, int n, DnChartValueFn get, int arg)
{
    for (int i = 0; i < n; i++)
        if (isfinite (get (&rows[i], arg)))
            return TRUE;
    return FALSE;
}

static void faint (DnChartSeries *s, double alpha)
{
    s->faint = TRUE;
    s->alpha = alpha;
}

/* Rolled-back rows of one series, drawn first and faintly. */
static void add_rolled_back (DnChartSpec *spec, const DnChartData *d, const char *label,
                             DnRgb colour, double alpha, DnChartValueFn get, int arg)
{
    gboolean labelled = FALSE;
    for (int r = 0; r < d->n_rollbacks; r++) {
        const DnTrackerRollback *rb = &d->rollbacks[r];
        if (!any_finite (rb->rows, rb->n_rows, get, arg))
            continue;
        DnChartSeries *s = dn_chart_spec_add (spec, labelled ? NULL : label, colour, rb->rows,
                                              rb->n_rows, get, arg);
        faint (s, alpha);
        labelled = TRUE;
    }
}

static void build_scores (const DnChartData *d, const DnChartPalette *pal, DnChartSpec *spec)
{
    spec->title = dn_chart_kind_title (DN_CHART_SCORES);
    spec->y_label = "Score";
    spec->switch_labels = TRUE;

    /* the reference's colours for old histories: validation blue, others red; one
     * legend entry for all of them, so that the legend keeps its room */
    add_rolled_back (spec, d, "rolled back", pal->old_val, 0.35, get_val, 0);
    gboolean old_test = FALSE;
    for (int r = 0; r < d->n_rollbacks; r++)
        old_test |= any_finite (d->rollbacks[r].rows, d->rollbacks[r].n_rows, get_test, 0);
    if (old_test)
        add_rolled_back (spec, d, "rolled back", pal->old_extra, 0.3, get_test, 0);
    for (int x = 0; x < d->n_extra; x++)
        add_rolled_back (spec, d, "rolled back", pal->old_extra, 0.3, get_extra, x);

    /* the legend's order; drawn in reverse, so validation ends on top and hides
     * the running score only where they agree (always, with history_lookback 1) */
    dn_chart_spec_add (spec, "Validation", pal->val, d->rows, d->n_rows, get_val, 0);
    DnChartSeries *run = dn_chart_spec_add (spec, "Running validation", pal->running, d->rows,
                                            d->n_rows, get_running, 0);
    run->dashed = TRUE;
    if (any_finite (d->rows, d->n_rows, get_test, 0))
        dn_chart_spec_add (spec, "Test", pal->test, d->rows, d->n_rows, get_test, 0);
    for (int x = 0; x < d->n_extra; x++)
        dn_chart_spec_add (spec, d->extra_names[x], pal->extra[x % G_N_ELEMENTS (pal->extra)],
                           d->rows, d->n_rows, get_extra, x);

    const DnTrackerMarkers *m = &d->markers;
    char num[32];
    if (m->has_global_best && m->global_best_epoch >= 0) {
        DnChartDot *dot = &spec->dots[spec->n_dots++];
        *dot = (DnChartDot){
            .x = m->global_best_epoch, .y = m->global_best, .colour = pal->best, .ring = TRUE};
        g_snprintf (dot->label, sizeof dot->label, "Global best (%s)",
                    dn_chart_format_short (num, sizeof num, m->global_best));
    }
    if (m->epoch_last_improved >= 0 && isfinite (m->last_improved_val)) {
        DnChartDot *dot = &spec->dots[spec->n_dots++];
        *dot = (DnChartDot){
            .x = m->epoch_last_improved, .y = m->last_improved_val, .colour = pal->improved};
        g_strlcpy (dot->label, "Epoch last improved", sizeof dot->label);
    }
}

static void build_times (const DnChartData *d, const DnChartPalette *pal, DnChartSpec *spec)
{
    spec->title = dn_chart_kind_title (DN_CHART_TIMES);
    spec->y_label = "Seconds per epoch";
    spec->y_from_zero = TRUE;
    spec->empty_text = "No epochs yet";
    spec->empty_detail = "The seconds each epoch took appear here after the first epoch";
    add_rolled_back (spec, d, "rolled back", pal->muted, 0.45, get_seconds, 0);
    dn_chart_spec_add (spec, "Epoch time", pal->times, d->rows, d->n_rows, get_seconds, 0);
}

static void build_lr (const DnChartData *d, const DnChartPalette *pal, DnChartSpec *spec)
{
    spec->title = dn_chart_kind_title (DN_CHART_LR);
    spec->y_label = "Learning rate";
    spec->allow_log = TRUE;
    spec->empty_text = "No epochs yet";
    spec->empty_detail = "The rate each epoch trained with appears here after the first epoch";
    add_rolled_back (spec, d, "rolled back", pal->muted, 0.45, get_lr, 0);
    dn_chart_spec_add (spec, "Learning rate", pal->lr, d->rows, d->n_rows, get_lr, 0);
}

/* Perforated Backpropagation: per layer the best candidate correlation ever
 * (solid) and the dendrite phase's best (dashed), as perforatedai's "Best
 * PBScores" graph; the phases themselves are the red bands. */
static void build_pb_scores (const DnChartData *d, gboolean dark, DnChartSpec *spec)
{
    spec->y_label = "Candidate correlation";
    spec->y_from_zero = TRUE;
    for (int c = 0; c < d->n_cand; c++) {
        DnRgb colour = dn_chart_rainbow (c, d->n_cand, dark);
        dn_chart_spec_add (spec, d->cand_names[c], colour, d->rows, d->n_rows, get_pb_best_ever, c);
        DnChartSeries *s = dn_chart_spec_add (spec, d->cand_phase_labels[c], colour, d->rows,
                                              d->n_rows, get_pb_phase_best, c);
        s->dashed = TRUE;
    }
}

static void build_correlation (const DnChartData *d, gboolean dark, DnChartSpec *spec)
{
    spec->title = dn_chart_kind_title (DN_CHART_CORRELATION);
    spec->y_label = "Correlation";
    if (d->n_switches == 0 && (d->n_rows == 0 || d->rows[d->n_rows - 1].dendrites == 0)) {
        spec->empty_text = "No dendrites yet";
        spec->empty_detail = "After the first switch, each layer's line shows how well its "
                             "dendrites track the neuron's remaining error";
    } else {
        spec->empty_text = "No correlation scores yet";
        spec->empty_detail = "Each layer's score appears when the first epoch with its "
                             "dendrites ends";
    }
    if (d->n_cand > 0) {
        build_pb_scores (d, dark, spec);
        return;
    }
    for (int c = 0; c < d->n_corr; c++)
        dn_chart_spec_add (spec, d->corr_names[c], dn_chart_rainbow (c, d->n_corr, dark), d->rows,
                           d->n_rows, get_corr, c);
}

void dn_chart_build_spec (const DnChartData *d, DnChartKind kind, const DnChartPalette *pal,
                          gboolean dark, DnChartSpec *spec)
{
    switch (kind) {
    case DN_CHART_SCORES:
        build_scores (d, pal, spec);
        break;
    case DN_CHART_TIMES:
        build_times (d, pal, spec);
        break;
    case DN_CHART_LR:
        build_lr (d, pal, spec);
        break;
    case DN_CHART_CORRELATION:
    default:
        build_correlation (d, dark, spec);
        break;
    }
}

/* ---- runs drawn over a chart ---- */

void dn_chart_overlay_colour (int i, gboolean dark, double rgb[3])
{
    /* GNOME palette shades, neither blue nor red (those say where dendrites were added
     * and learned), readable on the background, told apart by hue */
    static const unsigned light[] = {0x2ec27e, 0xa347ba, 0xc88800, 0x3d3846,
                                     0x986a44, 0x008b8b, 0xc64600, 0x6c7a00};
    static const unsigned darks[] = {0x8ff0a4, 0xdc8add, 0xf9f06b, 0xdeddda,
                                     0xcdab8f, 0x66d9d9, 0xffbe6f, 0xc8d96f};
    int n = (int) G_N_ELEMENTS (light);
    DnRgb c = hex ((dark ? darks : light)[((i % n) + n) % n]);
    rgb[0] = c.r;
    rgb[1] = c.g;
    rgb[2] = c.b;
}

static double get_mean_corr (const DnTrackerEpoch *e, int n)
{
    double sum = 0;
    int k = 0;
    for (int i = 0; i < n; i++)
        if (isfinite (e->correlation[i]))
            sum += e->correlation[i], k++;
    return k > 0 ? sum / k : NAN;
}

void dn_chart_spec_add_overlay (DnChartSpec *spec, DnChartKind kind, const DnChartData *o,
                                const DnChartOverlay *overlay, int index, gboolean dark)
{
    double rgb[3];
    dn_chart_overlay_colour (index, dark, rgb);
    DnRgb colour = {rgb[0], rgb[1], rgb[2]};
    DnChartValueFn get = kind == DN_CHART_SCORES ? get_val
                         : kind == DN_CHART_TIMES ? get_seconds
                         : kind == DN_CHART_LR    ? get_lr
                                                  : get_mean_corr;
    int arg = kind == DN_CHART_CORRELATION ? o->n_corr : 0;
    if (!any_finite (o->rows, o->n_rows, get, arg))
        return;
    DnChartSeries *s = dn_chart_spec_add (spec, overlay->name, colour, o->rows, o->n_rows, get, arg);
    s->dashed = overlay->baseline;
    s->line_width = 1.4;
}
