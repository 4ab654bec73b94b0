/* dn-busy-indicator.c: twelve spokes, one step every 83 ms, redraw only. */
#include "dn-busy-indicator.h"

#include <math.h>

#define N_SPOKES 12
#define SIZE 16

struct _DnBusyIndicator {
    GtkWidget parent_instance;
    gboolean spinning;
    int step;
    guint timeout_id;
};

G_DEFINE_FINAL_TYPE (DnBusyIndicator, dn_busy_indicator, GTK_TYPE_WIDGET)

enum { PROP_0, PROP_SPINNING, N_PROPS };
static GParamSpec *props[N_PROPS];

static gboolean animations_enabled (GtkWidget *widget)
{
    gboolean on = TRUE;
    g_object_get (gtk_widget_get_settings (widget), "gtk-enable-animations", &on, NULL);
    return on;
}

static gboolean on_step (gpointer data)
{
    DnBusyIndicator *self = data;
    self->step = (self->step + 1) % N_SPOKES;
    gtk_widget_queue_draw (GTK_WIDGET (self));
    return G_SOURCE_CONTINUE;
}

/* Steps only while spinning, shown and allowed to move. */
static void update_timeout (DnBusyIndicator *self)
{
    GtkWidget *widget = GTK_WIDGET (self);
    gboolean run = self->spinning && gtk_widget_get_mapped (widget) && animations_enabled (widget);
    if (run && self->timeout_id == 0) {
        self->timeout_id = g_timeout_add (1000 / N_SPOKES, on_step, self);
        g_source_set_static_name (g_main_context_find_source_by_id (NULL, self->timeout_id),
                                  "[dendrite] busy indicator");
    } else if (!run) {
        g_clear_handle_id (&self->timeout_id, g_source_remove);
    }
}

static void dn_busy_indicator_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
    DnBusyIndicator *self = DN_BUSY_INDICATOR (widget);
    int w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget);
    if (!self->spinning || w <= 0 || h <= 0)
        return;
    GdkRGBA color;
    gtk_style_context_get_color (gtk_widget_get_style_context (widget), &color);
    cairo_t *cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, w, h));
    double r = MIN (w, h) / 2.0;
    cairo_translate (cr, w / 2.0, h / 2.0);
    cairo_set_line_width (cr, MAX (r / 4.5, 1.5));
    cairo_set_line_cap (cr, CAIRO_LINE_CAP_ROUND);
    for (int i = 0; i < N_SPOKES; i++) {
        /* the spoke at the current step is solid; those behind it fade */
        int age = (self->step - i + N_SPOKES) % N_SPOKES;
        double a = 2 * G_PI * i / N_SPOKES;
        cairo_set_source_rgba (cr, color.red, color.green, color.blue,
                               color.alpha * (1.0 - 0.75 * age / (N_SPOKES - 1)));
        cairo_move_to (cr, 0.45 * r * sin (a), -0.45 * r * cos (a));
        cairo_line_to (cr, 0.85 * r * sin (a), -0.85 * r * cos (a));
        cairo_stroke (cr);
    }
    cairo_destroy (cr);
}

static void dn_busy_indicator_measure (GtkWidget *widget, GtkOrientation o, int for_size, int *min,
                                       int *nat, int *min_baseline, int *nat_baseline)
{
    *min = *nat = SIZE;
}

static void dn_busy_indicator_map (GtkWidget *widget)
{
    GTK_WIDGET_CLASS (dn_busy_indicator_parent_class)->map (widget);
    update_timeout (DN_BUSY_INDICATOR (widget));
}

static void dn_busy_indicator_unmap (GtkWidget *widget)
{
    GTK_WIDGET_CLASS (dn_busy_indicator_parent_class)->unmap (widget);
    update_timeout (DN_BUSY_INDICATOR (widget));
}

static void dn_busy_indicator_dispose (GObject *object)
{
    DnBusyIndicator *self = DN_BUSY_INDICATOR (object);
    g_clear_handle_id (&self->timeout_id, g_source_remove);
    G_OBJECT_CLASS (dn_busy_indicator_parent_class)->dispose (object);
}

static void dn_busy_indicator_get_property (GObject *object, guint id, GValue *value,
                                            GParamSpec *pspec)
{
    DnBusyIndicator *self = DN_BUSY_INDICATOR (object);
    switch (id) {
    case PROP_SPINNING:
        g_value_set_boolean (value, self->spinning);
        break;
    default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, id, pspec);
    }
}

static void dn_busy_indicator_set_property (GObject *object, guint id, const GValue *value,
                                            GParamSpec *pspec)
{
    DnBusyIndicator *self = DN_BUSY_INDICATOR (object);
    switch (id) {
    case PROP_SPINNING:
        dn_busy_indicator_set_spinning (self, g_value_get_boolean (value));
        break;
    default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, id, pspec);
    }
}

static void dn_busy_indicator_class_init (DnBusyIndicatorClass *klass)
{
    GObjectClass *object_class = G_OBJECT_CLASS (klass);
    GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
    object_class->dispose = dn_busy_indicator_dispose;
    object_class->get_property = dn_busy_indicator_get_property;
    object_class->set_property = dn_busy_indicator_set_property;
    widget_class->snapshot = dn_busy_indicator_snapshot;
    widget_class->measure = dn_busy_indicator_measure;
    widget_class->map = dn_busy_indicator_map;
    widget_class->unmap = dn_busy_indicator_unmap;
    props[PROP_SPINNING] =
        g_param_spec_boolean ("spinning", NULL, NULL, FALSE,
                              G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
    g_object_class_install_properties (object_class, N_PROPS, props);
    gtk_widget_class_set_css_name (widget_class, "busy-indicator");
    gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_PROGRESS_BAR);
}

static void dn_busy_indicator_init (DnBusyIndicator *self)
{
}

GtkWidget *dn_busy_indicator_new (void)
{
    return g_object_new (DN_TYPE_BUSY_INDICATOR, NULL);
}

void dn_busy_indicator_set_spinning (DnBusyIndicator *self, gboolean spinning)
{
    spinning = !!spinning;
    if (self->spinning == spinning)
        return;
    self->spinning = spinning;
    update_timeout (self);
    gtk_accessible_update_state (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_STATE_BUSY, spinning, -1);
    gtk_widget_queue_draw (GTK_WIDGET (self));
    g_object_notify_by_pspec (G_OBJECT (self), props[PROP_SPINNING]);
}

gboolean dn_busy_indicator_get_spinning (DnBusyIndicator *self)
{
    return self->spinning;
}
