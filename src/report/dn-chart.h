/* dn-chart.h: the one picture of a run.
 *
 * dn_chart_draw() draws one of the four graphs of a run (Perforated AI's 2x2
 * figure) onto any cairo context: the PNG written every epoch, the SVG and PDF
 * exports and the live widget of the desktop app all call it, so there is one
 * picture of a run, not three.
 *
 *   DN_CHART_SCORES       validation, running validation, test and extra scores;
 *                         a vertical line at every switch (red: to dendrite
 *                         learning, blue: back to neuron learning; dashed: a
 *                         retry with fresh dendrites), a dot at the global best
 *                         and at the epoch last improved, rolled-back history
 *                         drawn faintly
 *   DN_CHART_TIMES        seconds per epoch
 *   DN_CHART_LR           learning rate per epoch
 *   DN_CHART_CORRELATION  per layer, the correlation between each dendrite
 *                         set's output and its neuron's remaining error
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

typedef struct {
    gboolean dark;        /* light text and lines on a dark background */
    double font_size;     /* points; 0: 11 */
    int last_n_epochs;    /* > 0: show only the last N epochs (zoom) */
    gboolean transparent; /* do not paint the background (widgets) */
    int hover_epoch;      /* >= 0: draw a cursor line and values at this epoch */
} DnChartStyle;

void dn_chart_style_init (DnChartStyle *style);
const char *dn_chart_kind_title (DnChartKind kind);

/* Draws `kind` into the rectangle (0, 0, width, height) of cr. */
void dn_chart_draw (cairo_t *cr, const DnTracker *tracker, DnChartKind kind, double width,
                    double height, const DnChartStyle *style);
/* The 2x2 figure: scores, times / learning rate, correlation. */
void dn_chart_draw_all (cairo_t *cr, const DnTracker *tracker, double width, double height,
                        const DnChartStyle *style);
/* A sentence describing what a chart shows, for screen readers and alt text:
 * "Scores over 14 epochs: validation 98.1 % (best 98.3 % at epoch 9), 1 switch
 * to dendrite learning at epoch 8". Free with g_free. */
char *dn_chart_describe (const DnTracker *tracker, DnChartKind kind);

/* Files: PNG, SVG or PDF by the file name's extension. */
gboolean dn_chart_save (const DnTracker *tracker, int kind_or_all, const char *path,
                        double width, double height, GError **error);
#define DN_CHART_ALL (-1)

G_END_DECLS
