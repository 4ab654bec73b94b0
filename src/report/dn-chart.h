/* dn-chart.h: the one picture of a run.
 *
 * dn_chart_draw() draws one of the four graphs of a run (Perforated AI's 2x2
 * figure) onto any cairo context: the PNG written every epoch, the SVG and PDF
 * exports and the live widget of the desktop app all call it, so there is one
 * picture of a run, not three.
 *
 *   DN_CHART_SCORES       validation, running validation, test and extra scores;
 *                         the rolled-back histories drawn faintly behind them
 *                         (validation in blue, the others in red, as the
 *                         reference); a blue ring at the global best (running
 *                         score) and a green dot at the epoch last improved
 *   DN_CHART_TIMES        seconds per epoch, the y axis from 0
 *   DN_CHART_LR           learning rate per epoch, on a log axis when it spans
 *                         more than two decades
 *   DN_CHART_CORRELATION  per layer, the correlation between its newest dendrite
 *                         set's output and its neuron's remaining error; an
 *                         explanatory empty state before there is any
 *
 * Every chart draws one vertical blue line per dendrite addition, solid for a
 * new set and dashed for a retry (a fresh set replacing a rejected one), with
 * the set count above it on the scores chart. The reference draws a red line
 * (to dendrite learning) and a blue one (back to neuron learning) at the same
 * epoch for each gradient-descent switch, so its users see only the blue one
 * (spec §10.3); red stays the colour of dendrite learning: epochs trained in
 * dendrite mode (correlation training) get a faint red band.
 *
 * Conventions a reader cannot guess:
 *
 * - The x axis is the tracker's history row (the rolled-back axis), labelled
 *   from 1 as people and the tracker's messages count epochs: row r is drawn
 *   as "epoch r + 1". DnChartStyle.hover_epoch is a row (0-based), and
 *   dn_chart_describe() counts from 1 too.
 * - width and height are cairo user units, read as 96-dpi pixels; font_size is
 *   in points (11 pt = 14.7 units). A PDF or SVG of width w looks like a PNG of
 *   width w, only sharper.
 * - Numbers on axes and in descriptions never use a locale's decimal comma.
 *
 * The data is a tracker (its history); the drawing never changes it.
 */
#pragma once

#include "dn-tracker.h"

#include <cairo.h>

G_BEGIN_DECLS

typedef enum {
    DN_CHART_SCORES,
    DN_CHART_TIMES,
    DN_CHART_LR,
    DN_CHART_CORRELATION,
    DN_CHART_N_KINDS,
} DnChartKind;

/* Where dn_chart_draw put the data: the plot rectangle and the history rows
 * (fractional) at its left and right edges, so a widget can turn a pointer
 * position into a hover_epoch. valid is FALSE when there was nothing to plot. */
#define DN_CHART_MAX_LEGEND 40

/* A legend entry as drawn, so a widget can hide its series on a click. */
typedef struct {
    double x, y, width, height;
    char label[64];
} DnChartLegendBox;

typedef struct {
    gboolean valid;
    double x, y, width, height;
    double first_row, last_row;
    int n_legend;
    DnChartLegendBox legend[DN_CHART_MAX_LEGEND];
} DnChartPlotArea;

/* Another run drawn over a chart, to compare (the run table's selection): its
 * validation score, epoch times, learning rate or mean dendrite correlation as one
 * line in a colour of its own (dn_chart_overlay_colour), named in the legend. The
 * pinned baseline is dashed. */
typedef struct {
    const DnTracker *tracker;
    const char *name;
    gboolean baseline;
} DnChartOverlay;

/* The colour of overlay i (0-based, eight before they repeat), as 0..1 components;
 * none is the blue or red the charts keep for dendrite switches and learning. */
void dn_chart_overlay_colour (int i, gboolean dark, double rgb[3]);

typedef struct {
    gboolean dark;        /* light text and lines on a dark background (#1e1e1e) */
    double font_size;     /* points; 0: 11 */
    int last_n_epochs;    /* > 0: show only the last N epochs (zoom) */
    gboolean transparent; /* do not paint the background (widgets) */
    int hover_epoch;      /* >= 0: a cursor line and each series' value at this
                           * history row; nothing when it is off the x axis */
    DnChartPlotArea *plot_area; /* not NULL: receives where the data was drawn */
    const DnChartOverlay *overlays; /* n_overlays runs drawn over the chart; the x axis */
    int n_overlays;                 /* reaches the longest */
    /* Live views (files leave them 0): */
    double x_from, x_to;       /* x_to > x_from: rows x_from..x_to only (drag to zoom) */
    gboolean log_y;            /* a log y axis whenever every value shown is positive */
    double smoothing;          /* 0..0.99: current series as an exponential moving average
                                * giving the past this weight, the raw line faint behind */
    const char *const *hidden; /* NULL-terminated legend labels whose series are not drawn
                                * (their entries stay, struck through) */
} DnChartStyle;

/* Light, 11 pt, no zoom, opaque, no hover (hover_epoch -1). */
void dn_chart_style_init (DnChartStyle *style);
/* "Scores", "Epoch times", "Learning rate", "Dendrite correlation". */
const char *dn_chart_kind_title (DnChartKind kind);

/* Draws `kind` into the rectangle (0, 0, width, height) of cr: title, axes
 * with labelled ticks, series, legend (to the right when there is room, else
 * inside the plot when it leaves the data readable, else in rows below it). style
 * NULL: dn_chart_style_init's. */
void dn_chart_draw (cairo_t *cr, const DnTracker *tracker, DnChartKind kind, double width,
                    double height, const DnChartStyle *style);
/* The 2x2 figure, the reference's subplots 221..224: scores, times /
 * learning rate, correlation; each quarter is one dn_chart_draw(). */
void dn_chart_draw_all (cairo_t *cr, const DnTracker *tracker, double width, double height,
                        const DnChartStyle *style);
/* A sentence describing what a chart shows, for screen readers and alt text,
 * with the numbers the chart shows: "Scores over 9 epochs (13 more rolled
 * back): validation 48.5 at epoch 9 (best 48.5 at epoch 9), test 47.5, Train
 * 53.5; 3 dendrite sets added at epochs 3, 5 (retry), 7." Free with g_free. */
char *dn_chart_describe (const DnTracker *tracker, DnChartKind kind);

/* Files: PNG, SVG or PDF by the file name's extension (any case), in the
 * default style; kind_or_all is a DnChartKind or DN_CHART_ALL. Drawn in
 * memory and written atomically (a temporary beside the file, renamed over
 * it). FALSE + error naming the path: DN_ERROR_UNSUPPORTED for another
 * extension, DN_ERROR_CONFIG for a size outside 1..32767, a G_FILE_ERROR when
 * the folder is missing or not writable. */
gboolean dn_chart_save (const DnTracker *tracker, int kind_or_all, const char *path, double width,
                        double height, GError **error);
#define DN_CHART_ALL (-1)

/* dn_chart_save with runs drawn over the charts (the default style otherwise). */
gboolean dn_chart_save_overlay (const DnTracker *tracker, int kind_or_all,
                                const DnChartOverlay *overlays, int n_overlays, const char *path,
                                double width, double height, GError **error);

/* Any drawing to a file the same way (PNG, SVG or PDF by extension, atomically). */
typedef void (*DnChartDrawFunc) (cairo_t *cr, double width, double height, gpointer data);
gboolean dn_chart_save_drawing (const char *path, double width, double height, DnChartDrawFunc draw,
                                gpointer data, GError **error);

/* ---- continual learning (dn-chart-tasks.c) ---- */

/* Accuracy of every task as training moves through the tasks: one line per task
 * (x: tasks trained so far, from the task itself on) and the mean over the tasks
 * seen, bold. matrix is tasks x tasks percents, row t after task t, NaN where not
 * measured. */
void dn_chart_draw_task_accuracy (cairo_t *cr, int tasks, const double *matrix, double width,
                                  double height, const DnChartStyle *style);
/* The paper's Figure 6: for each task (row) the fraction of its test images on
 * which each of the first `show_units` units (columns) is active; green scale. */
void dn_chart_draw_activity (cairo_t *cr, int tasks, int units, const float *activity,
                             int show_units, const char *layer, double width, double height,
                             const DnChartStyle *style);
/* Sentences for screen readers. Free with g_free. */
char *dn_chart_describe_task_accuracy (int tasks, const double *matrix);

G_END_DECLS
