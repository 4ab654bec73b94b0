/* dn-chart-widget.c: a chart of a run as a widget. */
#include "dn-chart-widget.h"

#include <glib/gi18n.h>
#include <math.h>

struct _DnChartWidget {
    GtkWidget parent_instance;
    DnChartKind kind;
    DnRunSnapshot *snapshot;
    int last_epochs;
    gboolean dark;
    int hover_row;
    double hover_x;
    DnChartPlotArea area; /* where the last draw put the data */
    char *description;
    guint n_draws;
};

G_DEFINE_FINAL_TYPE (DnChartWidget, dn_chart_widget, GTK_TYPE_WIDGET)

enum { PROP_0, PROP_KIND, PROP_LAST_EPOCHS, PROP_DARK, N_PROPS };
static GParamSpec *props[N_PROPS];

/* Before any run: a tracker with no history, which every chart draws as its
 * empty state. */
static const DnTracker *empty_tracker (void)
{
    static DnTracker *empty = NULL;
    if (g_once_init_enter (&empty)) {
        DnTrackerConfig cfg;
        dn_tracker_config_defaults (&cfg);
        DnTracker *t = dn_tracker_new (&cfg, NULL, 1.0, NULL);
        g_once_init_leave (&empty, t);
    }
    return empty;
}

static const DnTracker *current_tracker (DnChartWidget *self)
{
    const DnTracker *t = dn_run_snapshot_get_tracker (self->snapshot);
    return t != NULL ? t : empty_tracker ();
}

static void update_accessible (DnChartWidget *self)
{
    g_free (self->description);
    self->description = dn_chart_describe (current_tracker (self), self->kind);
    gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                    dn_chart_kind_title (self->kind),
                                    GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, self->description, -1);
}

static void dn_chart_widget_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
    DnChartWidget *self = DN_CHART_WIDGET (widget);
    int w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget);
    if (w <= 0 || h <= 0)
        return;
    cairo_t *cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, w, h));
    DnChartStyle style;
    dn_chart_style_init (&style);
    style.dark = self->dark;
    style.transparent = TRUE;
    style.last_n_epochs = self->last_epochs;
    style.hover_epoch = self->hover_row;
    style.font_size = 9.5;
    style.plot_area = &self->area;
    dn_chart_draw (cr, current_tracker (self), self->kind, w, h, &style);
    cairo_destroy (cr);
    self->n_draws++;
}

static int row_at (DnChartWidget *self, double x, double y)
{
    const DnChartPlotArea *a = &self->area;
    if (!a->valid || a->width <= 0 || x < a->x || x > a->x + a->width || y < 0)
        return -1;
    double row = a->first_row + (x - a->x) / a->width * (a->last_row - a->first_row);
    int r = (int) lround (row);
    int n = 0;
    dn_tracker_epochs (current_tracker (self), &n);
    return r >= 0 && r < n ? r : -1;
}

void dn_chart_widget_hover_at (DnChartWidget *self, double x, double y)
{
    int r = y < 0 ? -1 : row_at (self, x, y);
    if (r != self->hover_row) {
        self->hover_row = r;
        gtk_widget_queue_draw (GTK_WIDGET (self));
    }
}

static void on_motion (GtkEventControllerMotion *c, double x, double y, DnChartWidget *self)
{
    dn_chart_widget_hover_at (self, x, y);
}

static void on_leave (GtkEventControllerMotion *c, DnChartWidget *self)
{
    dn_chart_widget_hover_at (self, 0, -1);
}

static void dn_chart_widget_measure (GtkWidget *widget, GtkOrientation o, int for_size, int *min,
                                     int *nat, int *min_baseline, int *nat_baseline)
{
    *min = o == GTK_ORIENTATION_HORIZONTAL ? 240 : 170;
    *nat = o == GTK_ORIENTATION_HORIZONTAL ? 420 : 260;
}

static void dn_chart_widget_get_property (GObject *object, guint id, GValue *value,
                                          GParamSpec *pspec)
{
    DnChartWidget *self = DN_CHART_WIDGET (object);
    switch (id) {
    case PROP_KIND:
        g_value_set_int (value, self->kind);
        break;
    case PROP_LAST_EPOCHS:
        g_value_set_int (value, self->last_epochs);
        break;
    case PROP_DARK:
        g_value_set_boolean (value, self->dark);
        break;
    default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, id, pspec);
    }
}

static void dn_chart_widget_set_property (GObject *object, guint id, const GValue *value,
                                          GParamSpec *pspec)
{
    DnChartWidget *self = DN_CHART_WIDGET (object);
    switch (id) {
    case PROP_KIND:
        dn_chart_widget_set_kind (self, g_value_get_int (value));
        break;
    case PROP_LAST_EPOCHS:
        dn_chart_widget_set_last_epochs (self, g_value_get_int (value));
        break;
    case PROP_DARK:
        dn_chart_widget_set_dark (self, g_value_get_boolean (value));
        break;
    default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, id, pspec);
    }
}

static void dn_chart_widget_finalize (GObject *object)
{
    DnChartWidget *self = DN_CHART_WIDGET (object);
    g_clear_pointer (&self->snapshot, dn_run_snapshot_unref);
    g_free (self->description);
    G_OBJECT_CLASS (dn_chart_widget_parent_class)->finalize (object);
}

static void dn_chart_widget_class_init (DnChartWidgetClass *klass)
{
    GObjectClass *object_class = G_OBJECT_CLASS (klass);
    GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
    object_class->finalize = dn_chart_widget_finalize;
    object_class->get_property = dn_chart_widget_get_property;
    object_class->set_property = dn_chart_widget_set_property;
    widget_class->snapshot = dn_chart_widget_snapshot;
    widget_class->measure = dn_chart_widget_measure;
    props[PROP_KIND] = g_param_spec_int ("kind", NULL, NULL, 0, DN_CHART_N_KINDS - 1, 0,
                                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
    props[PROP_LAST_EPOCHS] = g_param_spec_int ("last-epochs", NULL, NULL, 0, G_MAXINT, 0,
                                                G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
    props[PROP_DARK] = g_param_spec_boolean ("dark", NULL, NULL, FALSE,
                                             G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
    g_object_class_install_properties (object_class, N_PROPS, props);
    gtk_widget_class_set_css_name (widget_class, "chart");
    gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void dn_chart_widget_init (DnChartWidget *self)
{
    self->hover_row = -1;
    GtkEventController *motion = gtk_event_controller_motion_new ();
    g_signal_connect (motion, "motion", G_CALLBACK (on_motion), self);
    g_signal_connect (motion, "leave", G_CALLBACK (on_leave), self);
    gtk_widget_add_controller (GTK_WIDGET (self), motion);
    update_accessible (self);
}

GtkWidget *dn_chart_widget_new (DnChartKind kind)
{
    return g_object_new (DN_TYPE_CHART_WIDGET, "kind", kind, NULL);
}

DnChartKind dn_chart_widget_get_kind (DnChartWidget *self)
{
    return self->kind;
}

void dn_chart_widget_set_kind (DnChartWidget *self, DnChartKind kind)
{
    if (self->kind == kind)
        return;
    self->kind = kind;
    update_accessible (self);
    gtk_widget_queue_draw (GTK_WIDGET (self));
    g_object_notify_by_pspec (G_OBJECT (self), props[PROP_KIND]);
}

void dn_chart_widget_set_snapshot (DnChartWidget *self, DnRunSnapshot *snapshot)
{
    /* a snapshot with the same history (a batch update) changes nothing drawn */
    if (snapshot != NULL && self->snapshot != NULL && snapshot->shared == self->snapshot->shared) {
        dn_run_snapshot_unref (self->snapshot);
        self->snapshot = dn_run_snapshot_ref (snapshot);
        return;
    }
    g_clear_pointer (&self->snapshot, dn_run_snapshot_unref);
    if (snapshot != NULL)
        self->snapshot = dn_run_snapshot_ref (snapshot);
    update_accessible (self);
    gtk_widget_queue_draw (GTK_WIDGET (self));
}

void dn_chart_widget_set_last_epochs (DnChartWidget *self, int n)
{
    n = MAX (n, 0);
    if (self->last_epochs == n)
        return;
    self->last_epochs = n;
    gtk_widget_queue_draw (GTK_WIDGET (self));
    g_object_notify_by_pspec (G_OBJECT (self), props[PROP_LAST_EPOCHS]);
}

void dn_chart_widget_set_dark (DnChartWidget *self, gboolean dark)
{
    dark = !!dark;
    if (self->dark == dark)
        return;
    self->dark = dark;
    gtk_widget_queue_draw (GTK_WIDGET (self));
    g_object_notify_by_pspec (G_OBJECT (self), props[PROP_DARK]);
}

const char *dn_chart_widget_get_description (DnChartWidget *self)
{
    return self->description;
}

int dn_chart_widget_get_hover_row (DnChartWidget *self)
{
    return self->hover_row;
}

guint dn_chart_widget_get_n_draws (DnChartWidget *self)
{
    return self->n_draws;
}
