/* dn-chart-private.h: the insides of libdendrite-report's charts, shared by
 * dn-chart.c (public entry points, saving, descriptions), dn-chart-plot.c
 * (axes, ticks, legend, the common series drawer), dn-chart-kinds.c (what
 * each of the four charts shows, colours) and dn-run-files.c (the CSV files
 * and snapshots, from the same view). Not installed.
 *
 * Charts and CSV files read a DnChartData, not the tracker: a plain view of
 * the history (rows, switches, rolled-back rows, markers, names). It is
 * either the tracker's history as it is, or, for a snapshot whose op says
 * `before_restore`, the history as it stood before the decision's RESTORE
 * (see DN_TRACKER_OP_SAVE_GRAPHS in dn-tracker.h). The view borrows the
 * tracker's arrays where it can: it is valid until the next add_score.
 */
#pragma once

#include "dn-chart.h"

G_BEGIN_DECLS

typedef struct {
    const DnTrackerEpoch *rows; /* the current history, rows[i].epoch == i */
    int n_rows;
    const DnTrackerSwitch *switches;
    int n_switches;
    DnTrackerRollback *rollbacks; /* owned array; rows borrowed */
    int n_rollbacks;
    DnTrackerMarkers markers;
    gboolean maximizing;
    gboolean complete;
    int total_epochs;
    int n_extra;
    const char *extra_names[DN_TRACKER_MAX_EXTRA];
    int n_corr;
    const char *corr_names[DN_TRACKER_MAX_CORR];
    int n_cand; /* Perforated Backpropagation: layers with candidate scores */
    const char *cand_names[DN_TRACKER_MAX_CORR];
    char *cand_phase_labels[DN_TRACKER_MAX_CORR]; /* owned: "phase: conv2" */
    GArray *owned_rows;                           /* the before_restore rows, NULL when borrowed */
} DnChartData;

/* before_restore: the view a SAVE_GRAPHS op with before_restore asks for. */
void dn_chart_data_init (DnChartData *d, const DnTracker *t, gboolean before_restore);
void dn_chart_data_clear (DnChartData *d);
/* Largest epoch on the x axis: current and rolled-back rows; -1 when empty. */
int dn_chart_data_last_epoch (const DnChartData *d);

void dn_chart_draw_data (cairo_t *cr, const DnChartData *d, DnChartKind kind, double width,
                         double height, const DnChartStyle *style);
void dn_chart_draw_all_data (cairo_t *cr, const DnChartData *d, double width, double height,
                             const DnChartStyle *style);
/* Writes the figure (kind or DN_CHART_ALL) to path by extension, atomically. */
gboolean dn_chart_save_data (const DnChartData *d, int kind_or_all, const char *path, double width,
                             double height, const DnChartStyle *style, GError **error);

/* Numbers for people and files: the shortest text that reads back as the same
 * double, with '.' whatever the locale ("70.88", "0.001", "1e-05"); integral
 * values get ".0" as Python's repr does ("70.0"). buf holds >= 32 bytes. */
const char *dn_chart_format_double (char *buf, gsize len, double v);
/* A CSV field, quoted when it holds a comma, a quote or a line end (RFC 4180);
 * dn-run-files.c. */
void dn_run_files_put_text (GString *s, const char *text);
/* Four significant digits, for descriptions and labels: "98.13", "0.001". */
const char *dn_chart_format_short (char *buf, gsize len, double v);

/* ---- drawing primitives (colours: dn-chart-kinds.c; the rest: dn-chart-plot.c) ---- */

typedef struct {
    double r, g, b;
} DnRgb;

typedef struct {
    DnRgb bg, fg, muted, grid, panel;
    DnRgb val, running, test, extra[4], times, lr;
    DnRgb switch_line; /* blue: back to neuron learning, the line users look for */
    DnRgb best, improved;
    DnRgb old_val, old_extra; /* rolled-back histories: blue and red, as the reference */
    DnRgb dendrite_phase;     /* red: dendrite learning */
} DnChartPalette;

void dn_chart_palette (DnChartPalette *p, gboolean dark);
/* A rainbow colour for series i of n (correlation lines), readable on the background. */
DnRgb dn_chart_rainbow (int i, int n, gboolean dark);

typedef double (*DnChartValueFn) (const DnTrackerEpoch *e, int arg);

typedef struct {
    const char *label; /* NULL: not in the legend */
    DnRgb colour;
    double alpha;
    double line_width; /* in units of the font size / 10; 0: 1.6 */
    gboolean dashed;
    gboolean faint; /* rolled back: drawn thin and behind, not in hover readouts */
    const DnTrackerEpoch *rows;
    int n_rows;
    DnChartValueFn get;
    int arg;
} DnChartSeries;

typedef struct {
    double x, y;
    DnRgb colour;
    gboolean ring; /* a circle around the spot, so a dot under it still shows */
    char label[64];
} DnChartDot;

/* What one chart shows; dn-chart-kinds.c fills it, dn_chart_plot draws it. */
typedef struct {
    const char *title;
    const char *y_label;
    GArray *series; /* DnChartSeries, in legend order; current ones drawn last to first */
    DnChartDot dots[4];
    int n_dots;
    gboolean y_from_zero;   /* times: the y axis starts at 0 */
    gboolean allow_log;     /* learning rate: log scale when it spans > 2 decades */
    gboolean switch_labels; /* the dendrite count above each switch line */
    const char *empty_text; /* shown when no series has a finite value */
    const char *empty_detail;
    int x_last; /* > the data's last row: the x axis reaches it (overlays) */
} DnChartSpec;

void dn_chart_spec_init (DnChartSpec *spec);
void dn_chart_spec_clear (DnChartSpec *spec);
DnChartSeries *dn_chart_spec_add (DnChartSpec *spec, const char *label, DnRgb colour,
                                  const DnTrackerEpoch *rows, int n_rows, DnChartValueFn get,
                                  int arg);

void dn_chart_plot (cairo_t *cr, const DnChartData *d, const DnChartSpec *spec, double width,
                    double height, const DnChartStyle *style, const DnChartPalette *pal);

/* dn-chart-kinds.c: fills spec for kind. */
void dn_chart_build_spec (const DnChartData *d, DnChartKind kind, const DnChartPalette *pal,
                          gboolean dark, DnChartSpec *spec);
/* Adds the line of overlay `index` drawn from its view o (kept alive by the caller
 * until the plot is drawn). */
void dn_chart_spec_add_overlay (DnChartSpec *spec, DnChartKind kind, const DnChartData *o,
                                const DnChartOverlay *overlay, int index, gboolean dark);

G_END_DECLS
