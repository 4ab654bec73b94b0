/* dn-chart-widget.h: one of the four charts of a run, or of the two charts of a
 * continual-learning run, live.
 *
 * Drawn with dn_chart_draw (the same function that writes the run folder's
 * PNG and the SVG/PDF exports) from the tracker of an immutable
 * DnRunSnapshot, but never on the main thread: one low-priority worker
 * renders every chart into an image at the widget's size and scale, and
 * snapshot() only paints the finished image (stretched over a size change
 * until the new one arrives). At most one render per chart is in flight;
 * what changes while it runs is rendered once it is done. A new history (a
 * training run's epoch) is rendered at most every 100 ms; the pointer, zoom,
 * size and dark mode at once. The pointer's epoch is shown by the chart
 * itself (DnChartStyle.hover_epoch). For screen readers the widget is an
 * image whose label is the chart's title and whose description is
 * dn_chart_describe()'s sentence with the numbers shown.
 *
 * The kinds beyond DnChartKind draw a continual run's snapshot instead of a
 * tracker: DN_CHART_WIDGET_TASKS every task's accuracy as training moves
 * through the tasks (dn_chart_draw_task_accuracy, described by
 * dn_chart_describe_task_accuracy), redrawn when a task has been evaluated;
 * DN_CHART_WIDGET_ACTIVITY the hidden-unit activity per task at the end
 * (dn_chart_draw_activity). They have no hover.
 */
#pragma once

#include "dn-chart.h"
#include "dn-run-snapshot.h"

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define DN_TYPE_CHART_WIDGET (dn_chart_widget_get_type ())
G_DECLARE_FINAL_TYPE (DnChartWidget, dn_chart_widget, DN, CHART_WIDGET, GtkWidget)

/* Kinds: a DnChartKind, or one of these. */
enum {
    DN_CHART_WIDGET_TASKS = DN_CHART_N_KINDS,
    DN_CHART_WIDGET_ACTIVITY,
    DN_CHART_WIDGET_N_KINDS,
};

GtkWidget *dn_chart_widget_new (int kind);
int dn_chart_widget_get_kind (DnChartWidget *self);
void dn_chart_widget_set_kind (DnChartWidget *self, int kind);
/* "Scores", ..., "Task accuracy", "Hidden activity" (translated for the app's own kinds). */
const char *dn_chart_widget_kind_title (int kind);
/* Holds a reference; NULL shows the empty chart. */
void dn_chart_widget_set_snapshot (DnChartWidget *self, DnRunSnapshot *snapshot);
/* Other runs drawn over the chart (dn_chart_draw's overlays), each in a colour of
 * its own, the baseline dashed; the description names them. */
typedef struct {
    DnRunSnapshot *snapshot; /* a reference; its tracker is drawn */
    char *name;
    gboolean baseline;
} DnChartWidgetOverlay;

DnChartWidgetOverlay *dn_chart_widget_overlay_new (DnRunSnapshot *snapshot, const char *name,
                                                  gboolean baseline);
void dn_chart_widget_overlay_free (gpointer overlay);
/* overlays: DnChartWidgetOverlay, freed by the array (dn_chart_widget_overlay_free);
 * the widget keeps a reference and the array must not change afterwards. NULL: none. */
void dn_chart_widget_set_overlays (DnChartWidget *self, GPtrArray *overlays);
/* 0: every epoch; N: the last N. */
void dn_chart_widget_set_last_epochs (DnChartWidget *self, int n);
void dn_chart_widget_set_dark (DnChartWidget *self, gboolean dark);
/* The text given to screen readers (owned by the widget). */
const char *dn_chart_widget_get_description (DnChartWidget *self);
/* The history row under the pointer, -1 when none. */
int dn_chart_widget_get_hover_row (DnChartWidget *self);
/* Simulates the pointer at (x, y) in widget coordinates (tests); y < 0 leaves. */
void dn_chart_widget_hover_at (DnChartWidget *self, double x, double y);
/* How many chart images were rendered and shown (tests, benchmarks). */
guint dn_chart_widget_get_n_draws (DnChartWidget *self);

/* Dragging across the plot shows only the epochs dragged over (the "zoomed"
 * property says so) until reset or another "last N epochs"; a click on a legend
 * entry hides its series, another shows it again. Both are also callable with
 * widget coordinates (tests). */
void dn_chart_widget_drag (DnChartWidget *self, double x0, double x1);
void dn_chart_widget_click_at (DnChartWidget *self, double x, double y);
void dn_chart_widget_reset_zoom (DnChartWidget *self);
gboolean dn_chart_widget_get_zoomed (DnChartWidget *self);
/* The history rows shown when zoomed (from < to), else 0, 0. */
void dn_chart_widget_get_zoom (DnChartWidget *self, double *from, double *to);
void dn_chart_widget_toggle_series (DnChartWidget *self, const char *label);
gboolean dn_chart_widget_series_hidden (DnChartWidget *self, const char *label);
/* Where the image shown put its plot and its legend entries. */
const DnChartPlotArea *dn_chart_widget_get_plot_area (DnChartWidget *self);
/* A log y axis whenever every value is positive (the learning rate). */
void dn_chart_widget_set_log_scale (DnChartWidget *self, gboolean log_y);
/* Current series drawn as a moving average with this weight on the past (0: off). */
void dn_chart_widget_set_smoothing (DnChartWidget *self, double weight);
/* TRUE when the image shown is of the newest snapshot, size and settings: no
 * render in flight or waiting (tests wait for this, not for a fixed time). */
gboolean dn_chart_widget_is_settled (DnChartWidget *self);

G_END_DECLS
