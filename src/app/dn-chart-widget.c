/* dn-chart-widget.c: a chart of a run as a widget. */
#include "dn-chart-widget.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <math.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

struct _DnChartWidget {
    GtkWidget parent_instance;
    int kind;
    DnRunSnapshot *snapshot;
    int last_epochs;
    gboolean dark;
    int hover_row;
    double x_from, x_to; /* rows dragged out (x_to > x_from), else all or the last N */
    gboolean log_y;
    double smoothing;
    GPtrArray *hidden; /* char*: legend labels whose series are not drawn */
    double drag_start; /* the pointer's x where a drag began; NAN: none */
    double drag_now;
    DnChartPlotArea area; /* where the shown image put the data */
    char *description;
    guint n_draws;

    /* the image shown, and the one being rendered */
    cairo_surface_t *image;         /* ARGB32 at the widget's scale, or NULL */
    int image_w, image_h;           /* the size it was made for */
    gboolean rendering;             /* a render is in flight */
    gboolean dirty;                 /* what is shown (or in flight) is out of date */
    gboolean urgent;                /* ... because of the pointer, zoom, size or colours */
    int want_w, want_h, want_scale; /* the size of the newest image, shown or in flight */
    gint64 last_start;              /* when the last render started (monotonic, µs) */
    guint throttle_id;              /* a timeout that starts the next history render */
    GPtrArray *overlays;            /* DnChartWidgetOverlay, never changed once set; or NULL */
};

/* Pointer travel (px) below which a press is a click, not a drag. */
#define DRAG_MIN 4.0

/* A new history is rendered at most this often (µs): ten times a second. */
#define HISTORY_INTERVAL (100 * G_TIME_SPAN_MILLISECOND)

G_DEFINE_FINAL_TYPE (DnChartWidget, dn_chart_widget, GTK_TYPE_WIDGET)

enum { PROP_0, PROP_KIND, PROP_LAST_EPOCHS, PROP_DARK, PROP_ZOOMED, N_PROPS };
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

const char *dn_chart_widget_kind_title (int kind)
{
    if (kind == DN_CHART_WIDGET_TASKS)
        return _ ("Task accuracy");
    if (kind == DN_CHART_WIDGET_ACTIVITY)
        return _ ("Hidden activity per task");
    return dn_chart_kind_title (kind);
}

/* The activity map in words: which layer, how many tasks and units, and how
 * sparse and how task-specific the activity is. */
static char *describe_activity (const DnRunSnapshot *s)
{
    const float *a = dn_run_snapshot_get_activity (s);
    if (a == NULL)
        return g_strdup (_ ("Hidden activity per task: measured when the last task is done."));
    int T = s->tasks, U = s->activity_units;
    double sum = 0.0;
    int specific = 0; /* units active for one task clearly more than for the others */
    for (int u = 0; u < U; u++) {
        double best = 0.0, rest = 0.0;
        for (int t = 0; t < T; t++) {
            double v = a[(size_t) t * U + u];
            sum += v;
            if (v > best) {
                rest += best;
                best = v;
            } else {
                rest += v;
            }
        }
        if (T > 1 && best > 0.5 && rest / (T - 1) < 0.1)
            specific++;
    }
    return g_strdup_printf (_ ("Hidden activity of %s for %d tasks and %d units: on average a "
                               "unit is active on %.1f %% of the images; %d units are active "
                               "mostly for one task."),
                            s->activity_layer != NULL ? s->activity_layer : _ ("the hidden layer"),
                            T, U, 100.0 * sum / ((double) T * U), specific);
}

static char *describe (DnChartWidget *self)
{
    const DnRunSnapshot *s = self->snapshot;
    if (self->kind == DN_CHART_WIDGET_TASKS) {
        const double *m = dn_run_snapshot_get_accuracy (s);
        if (m == NULL)
            return g_strdup (_ ("Accuracy of each task: no continual run yet."));
        return dn_chart_describe_task_accuracy (s->tasks, m);
    }
    if (self->kind == DN_CHART_WIDGET_ACTIVITY)
        return describe_activity (s);
    g_autofree char *text = dn_chart_describe (current_tracker (self), self->kind);
    if (self->overlays == NULL || self->overlays->len == 0)
        return g_steal_pointer (&text);
    GString *out = g_string_new (text);
    g_string_append (out, _ (" Compared with: "));
    for (guint i = 0; i < self->overlays->len; i++) {
        DnChartWidgetOverlay *o = self->overlays->pdata[i];
        g_string_append_printf (out, "%s%s%s", i > 0 ? ", " : "", o->name,
                                o->baseline ? _ (" (baseline, dashed)") : "");
    }
    g_string_append_c (out, '.');
    return g_string_free (out, FALSE);
}

static void update_accessible (DnChartWidget *self)
{
    g_free (self->description);
    self->description = describe (self);
    gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                    dn_chart_widget_kind_title (self->kind),
                                    GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, self->description, -1);
}

/* ---- rendering on a worker ---- */

/* Everything one render needs, copied on the main thread: the worker reads
 * only this and the immutable tracker the snapshot holds. The job is made
 * and freed on the main thread, so the widget's last reference never drops
 * on the worker. */
typedef struct {
    DnChartWidget *widget;   /* a reference */
    DnRunSnapshot *snapshot; /* a reference, or NULL: the empty chart */
    int kind;
    int width, height, scale;
    DnChartStyle style;
    GPtrArray *overlays;    /* a reference to the widget's, or NULL */
    char **hidden;          /* the style's hidden labels, the job's own copy */
    DnChartPlotArea area;   /* filled by the worker */
    cairo_surface_t *image; /* filled by the worker; NULL when cairo failed */
} RenderJob;

static void render_job_free (RenderJob *job)
{
    g_object_unref (job->widget);
    g_clear_pointer (&job->snapshot, dn_run_snapshot_unref);
    g_clear_pointer (&job->overlays, g_ptr_array_unref);
    g_clear_pointer (&job->image, cairo_surface_destroy);
    g_strfreev (job->hidden);
    g_free (job);
}

static void start_render (DnChartWidget *self);

static gboolean render_done (gpointer data)
{
    RenderJob *job = data;
    DnChartWidget *self = job->widget;
    self->rendering = FALSE;
    if (job->image != NULL) {
        g_clear_pointer (&self->image, cairo_surface_destroy);
        self->image = g_steal_pointer (&job->image);
        self->image_w = job->width;
        self->image_h = job->height;
        self->area = job->area;
        self->n_draws++;
        gtk_widget_queue_draw (GTK_WIDGET (self));
    }
    if (self->dirty)
        start_render (self);
    render_job_free (job);
    return G_SOURCE_REMOVE;
}

static void render (gpointer data, gpointer unused)
{
    /* The charts' own thread, behind the window and ahead of training (nice 10,
     * dn-trainer.c): on two cores four charts drawn at normal priority would
     * take the main loop's CPU at the end of every epoch. Linux applies nice
     * per thread. */
    static GPrivate lowered;
    if (g_private_get (&lowered) == NULL) {
        if (setpriority (PRIO_PROCESS, (id_t) syscall (SYS_gettid), 5) != 0)
            g_debug ("could not lower the chart thread's priority: %s", g_strerror (errno));
        g_private_set (&lowered, GINT_TO_POINTER (1));
    }
    RenderJob *job = data;
    const DnTracker *t = dn_run_snapshot_get_tracker (job->snapshot);
    cairo_surface_t *surface = cairo_image_surface_create (
        CAIRO_FORMAT_ARGB32, job->width * job->scale, job->height * job->scale);
    cairo_t *cr = cairo_create (surface);
    cairo_scale (cr, job->scale, job->scale);
    job->style.plot_area = &job->area;
    const DnRunSnapshot *s = job->snapshot;
    if (job->kind == DN_CHART_WIDGET_TASKS) {
        const double *m = dn_run_snapshot_get_accuracy (s);
        dn_chart_draw_task_accuracy (cr, m != NULL ? s->tasks : 0, m, job->width, job->height,
                                     &job->style);
    } else if (job->kind == DN_CHART_WIDGET_ACTIVITY) {
        const float *a = dn_run_snapshot_get_activity (s);
        dn_chart_draw_activity (cr, a != NULL ? s->tasks : 0, a != NULL ? s->activity_units : 0, a,
                                64, s != NULL ? s->activity_layer : NULL, job->width, job->height,
                                &job->style);
    } else {
        guint n = job->overlays != NULL ? job->overlays->len : 0;
        g_autofree DnChartOverlay *ov = g_new0 (DnChartOverlay, MAX (n, 1));
        int k = 0;
        for (guint i = 0; i < n; i++) {
            DnChartWidgetOverlay *o = job->overlays->pdata[i];
            const DnTracker *ot = dn_run_snapshot_get_tracker (o->snapshot);
            if (ot != NULL)
                ov[k++] = (DnChartOverlay){ot, o->name, o->baseline};
        }
        job->style.overlays = ov;
        job->style.n_overlays = k;
        dn_chart_draw (cr, t != NULL ? t : empty_tracker (), job->kind, job->width, job->height,
                       &job->style);
        job->style.overlays = NULL;
        job->style.n_overlays = 0;
    }
    job->style.plot_area = NULL;
    cairo_destroy (cr);
    cairo_surface_flush (surface);
    if (cairo_surface_status (surface) == CAIRO_STATUS_SUCCESS) {
        cairo_surface_set_device_scale (surface, job->scale, job->scale);
        job->image = surface;
    } else {
        cairo_surface_destroy (surface);
    }
    g_idle_add_full (G_PRIORITY_DEFAULT, render_done, job, NULL);
}

/* One thread draws every chart, one after another: the charts of a window
 * never compete with each other or with the window for the CPU. Main thread. */
static void push_render (RenderJob *job)
{
    static GThreadPool *pool = NULL;
    static gboolean failed = FALSE;
    if (pool == NULL && !failed) {
        GError *error = NULL;
        pool = g_thread_pool_new (render, NULL, 1, TRUE, &error);
        if (pool == NULL) {
            g_warning ("cannot start the chart thread (%s): charts are drawn in the window's "
                       "thread",
                       error->message);
            g_error_free (error);
            failed = TRUE;
        }
    }
    if (pool != NULL)
        g_thread_pool_push (pool, job, NULL);
    else
        render (job, NULL);
}

static gboolean throttle_cb (gpointer data)
{
    DnChartWidget *self = data;
    self->throttle_id = 0;
    start_render (self);
    return G_SOURCE_REMOVE;
}

/* Renders what the widget should show now, unless a render is in flight (its
 * completion comes back here) or a history render would come too soon. */
static void start_render (DnChartWidget *self)
{
    GtkWidget *widget = GTK_WIDGET (self);
    if (self->rendering || !self->dirty)
        return;
    int w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget);
    if (w <= 0 || h <= 0 || !gtk_widget_get_mapped (widget))
        return; /* map and size_allocate come back */
    gint64 now = g_get_monotonic_time ();
    if (!self->urgent && self->last_start > 0 && now - self->last_start < HISTORY_INTERVAL) {
        if (self->throttle_id == 0)
            self->throttle_id =
                g_timeout_add ((guint) ((self->last_start + HISTORY_INTERVAL - now) / 1000) + 1,
                               throttle_cb, self);
        return;
    }
    g_clear_handle_id (&self->throttle_id, g_source_remove);
    RenderJob *job = g_new0 (RenderJob, 1);
    job->widget = g_object_ref (self);
    job->snapshot = self->snapshot != NULL ? dn_run_snapshot_ref (self->snapshot) : NULL;
    job->overlays = self->overlays != NULL ? g_ptr_array_ref (self->overlays) : NULL;
    job->kind = self->kind;
    job->width = self->want_w = w;
    job->height = self->want_h = h;
    job->scale = self->want_scale = MAX (gtk_widget_get_scale_factor (widget), 1);
    dn_chart_style_init (&job->style);
    job->style.dark = self->dark;
    job->style.transparent = TRUE;
    job->style.last_n_epochs = self->last_epochs;
    job->style.hover_epoch = self->hover_row;
    job->style.font_size = 9.5;
    job->style.x_from = self->x_from;
    job->style.x_to = self->x_to;
    job->style.log_y = self->log_y;
    job->style.smoothing = self->smoothing;
    job->hidden = g_new0 (char *, self->hidden->len + 1);
    for (guint i = 0; i < self->hidden->len; i++)
        job->hidden[i] = g_strdup (self->hidden->pdata[i]);
    job->style.hidden = (const char *const *) job->hidden;
    self->dirty = FALSE;
    self->urgent = FALSE;
    self->rendering = TRUE;
    self->last_start = now;
    push_render (job);
}

/* urgent: the pointer, zoom, size or colours changed (a person waits for it);
 * otherwise a new history, rendered at most every HISTORY_INTERVAL. */
static void queue_render (DnChartWidget *self, gboolean urgent)
{
    self->dirty = TRUE;
    self->urgent = self->urgent || urgent;
    start_render (self);
}

static void dn_chart_widget_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
    DnChartWidget *self = DN_CHART_WIDGET (widget);
    int w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget);
    if (self->image == NULL || w <= 0 || h <= 0)
        return;
    /* Painting the finished image is all the main thread does. A cairo node
     * rather than a GdkTexture: GTK 4.8's cairo renderer converts a memory
     * texture pixel by pixel every time it draws the window, while a cairo
     * node paints the image as it is, clipped to what changed. The image was
     * made for image_w × image_h; until the one for a new size arrives, it is
     * stretched over the widget. */
    cairo_t *cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, w, h));
    if (w != self->image_w || h != self->image_h)
        cairo_scale (cr, (double) w / self->image_w, (double) h / self->image_h);
    cairo_set_source_surface (cr, self->image, 0, 0);
    cairo_paint (cr);
    cairo_destroy (cr);
    if (isfinite (self->drag_start) && fabs (self->drag_now - self->drag_start) > DRAG_MIN &&
        self->area.valid) {
        /* the epochs a drag is choosing */
        double a = CLAMP (MIN (self->drag_start, self->drag_now), self->area.x,
                          self->area.x + self->area.width);
        double b = CLAMP (MAX (self->drag_start, self->drag_now), self->area.x,
                          self->area.x + self->area.width);
        GdkRGBA fill = {0.21, 0.52, 0.89, 0.18};
        gtk_snapshot_append_color (snapshot, &fill,
                                   &GRAPHENE_RECT_INIT (a, self->area.y, b - a, self->area.height));
    }
}

static void dn_chart_widget_size_allocate (GtkWidget *widget, int width, int height, int baseline)
{
    DnChartWidget *self = DN_CHART_WIDGET (widget);
    if (width != self->want_w || height != self->want_h ||
        gtk_widget_get_scale_factor (widget) != self->want_scale)
        queue_render (self, TRUE);
}

static void dn_chart_widget_map (GtkWidget *widget)
{
    GTK_WIDGET_CLASS (dn_chart_widget_parent_class)->map (widget);
    start_render (DN_CHART_WIDGET (widget)); /* what changed while hidden */
}

/* The history row (fractional) at x, clamped to the plot. */
static double row_at_x (DnChartWidget *self, double x)
{
    const DnChartPlotArea *a = &self->area;
    double f = CLAMP ((x - a->x) / a->width, 0.0, 1.0);
    return a->first_row + f * (a->last_row - a->first_row);
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
        queue_render (self, TRUE);
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

/* ---- a drag chooses epochs, a click on the legend hides a series ---- */

static void set_zoom (DnChartWidget *self, double from, double to)
{
    gboolean was = self->x_to > self->x_from;
    self->x_from = from;
    self->x_to = to;
    queue_render (self, TRUE);
    if (was != (to > from))
        g_object_notify_by_pspec (G_OBJECT (self), props[PROP_ZOOMED]);
}

void dn_chart_widget_click_at (DnChartWidget *self, double x, double y)
{
    for (int i = 0; i < self->area.n_legend; i++) {
        const DnChartLegendBox *b = &self->area.legend[i];
        if (x >= b->x && x <= b->x + b->width && y >= b->y && y <= b->y + b->height) {
            dn_chart_widget_toggle_series (self, b->label);
            return;
        }
    }
}

void dn_chart_widget_drag (DnChartWidget *self, double x0, double x1)
{
    if (fabs (x1 - x0) <= DRAG_MIN || !self->area.valid || self->area.width <= 0)
        return;
    double a = row_at_x (self, MIN (x0, x1)), b = row_at_x (self, MAX (x0, x1));
    if (b - a >= 1.0) /* at least two epochs */
        set_zoom (self, floor (a), ceil (b));
}

static void on_drag_begin (GtkGestureDrag *g, double x, double y, DnChartWidget *self)
{
    self->drag_start = self->drag_now = x;
}

static void on_drag_update (GtkGestureDrag *g, double dx, double dy, DnChartWidget *self)
{
    self->drag_now = self->drag_start + dx;
    gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void on_drag_end (GtkGestureDrag *g, double dx, double dy, DnChartWidget *self)
{
    double x0 = self->drag_start, y0 = 0;
    gtk_gesture_drag_get_start_point (g, &x0, &y0);
    self->drag_start = NAN;
    gtk_widget_queue_draw (GTK_WIDGET (self));
    if (fabs (dx) <= DRAG_MIN && fabs (dy) <= DRAG_MIN)
        dn_chart_widget_click_at (self, x0, y0);
    else
        dn_chart_widget_drag (self, x0, x0 + dx);
}

void dn_chart_widget_reset_zoom (DnChartWidget *self)
{
    if (self->x_to > self->x_from)
        set_zoom (self, 0, 0);
}

gboolean dn_chart_widget_get_zoomed (DnChartWidget *self)
{
    return self->x_to > self->x_from;
}

void dn_chart_widget_get_zoom (DnChartWidget *self, double *from, double *to)
{
    *from = self->x_from;
    *to = self->x_to;
}

void dn_chart_widget_toggle_series (DnChartWidget *self, const char *label)
{
    for (guint i = 0; i < self->hidden->len; i++)
        if (g_str_equal (self->hidden->pdata[i], label)) {
            g_ptr_array_remove_index (self->hidden, i);
            queue_render (self, TRUE);
            return;
        }
    g_ptr_array_add (self->hidden, g_strdup (label));
    queue_render (self, TRUE);
}

gboolean dn_chart_widget_series_hidden (DnChartWidget *self, const char *label)
{
    for (guint i = 0; i < self->hidden->len; i++)
        if (g_str_equal (self->hidden->pdata[i], label))
            return TRUE;
    return FALSE;
}

const DnChartPlotArea *dn_chart_widget_get_plot_area (DnChartWidget *self)
{
    return &self->area;
}

void dn_chart_widget_set_log_scale (DnChartWidget *self, gboolean log_y)
{
    if (self->log_y != !!log_y) {
        self->log_y = !!log_y;
        queue_render (self, TRUE);
    }
}

void dn_chart_widget_set_smoothing (DnChartWidget *self, double weight)
{
    weight = CLAMP (weight, 0.0, 0.99);
    if (self->smoothing != weight) {
        self->smoothing = weight;
        queue_render (self, TRUE);
    }
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
    case PROP_ZOOMED:
        g_value_set_boolean (value, dn_chart_widget_get_zoomed (self));
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

static void dn_chart_widget_dispose (GObject *object)
{
    DnChartWidget *self = DN_CHART_WIDGET (object);
    g_clear_handle_id (&self->throttle_id, g_source_remove);
    G_OBJECT_CLASS (dn_chart_widget_parent_class)->dispose (object);
}

static void dn_chart_widget_finalize (GObject *object)
{
    DnChartWidget *self = DN_CHART_WIDGET (object);
    g_clear_pointer (&self->snapshot, dn_run_snapshot_unref);
    g_clear_pointer (&self->overlays, g_ptr_array_unref);
    g_clear_pointer (&self->image, cairo_surface_destroy);
    g_free (self->description);
    g_ptr_array_unref (self->hidden);
    G_OBJECT_CLASS (dn_chart_widget_parent_class)->finalize (object);
}

static void dn_chart_widget_class_init (DnChartWidgetClass *klass)
{
    GObjectClass *object_class = G_OBJECT_CLASS (klass);
    GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
    object_class->dispose = dn_chart_widget_dispose;
    object_class->finalize = dn_chart_widget_finalize;
    object_class->get_property = dn_chart_widget_get_property;
    object_class->set_property = dn_chart_widget_set_property;
    widget_class->snapshot = dn_chart_widget_snapshot;
    widget_class->measure = dn_chart_widget_measure;
    widget_class->size_allocate = dn_chart_widget_size_allocate;
    widget_class->map = dn_chart_widget_map;
    props[PROP_KIND] = g_param_spec_int ("kind", NULL, NULL, 0, DN_CHART_WIDGET_N_KINDS - 1, 0,
                                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
    props[PROP_LAST_EPOCHS] = g_param_spec_int ("last-epochs", NULL, NULL, 0, G_MAXINT, 0,
                                                G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
    props[PROP_DARK] = g_param_spec_boolean ("dark", NULL, NULL, FALSE,
                                             G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
    props[PROP_ZOOMED] = g_param_spec_boolean ("zoomed", NULL, NULL, FALSE,
                                               G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
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
    self->hidden = g_ptr_array_new_with_free_func (g_free);
    self->drag_start = NAN;
    GtkGesture *drag = gtk_gesture_drag_new ();
    g_signal_connect (drag, "drag-begin", G_CALLBACK (on_drag_begin), self);
    g_signal_connect (drag, "drag-update", G_CALLBACK (on_drag_update), self);
    g_signal_connect (drag, "drag-end", G_CALLBACK (on_drag_end), self);
    gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drag));
    update_accessible (self);
}

GtkWidget *dn_chart_widget_new (int kind)
{
    return g_object_new (DN_TYPE_CHART_WIDGET, "kind", kind, NULL);
}

int dn_chart_widget_get_kind (DnChartWidget *self)
{
    return self->kind;
}

void dn_chart_widget_set_kind (DnChartWidget *self, int kind)
{
    if (self->kind == kind)
        return;
    self->kind = kind;
    update_accessible (self);
    queue_render (self, TRUE);
    g_object_notify_by_pspec (G_OBJECT (self), props[PROP_KIND]);
}

/* Whether a and b draw the same picture of this widget's kind. */
static gboolean same_picture (int kind, const DnRunSnapshot *a, const DnRunSnapshot *b)
{
    if (kind == DN_CHART_WIDGET_TASKS)
        return a->tasks == b->tasks && a->accuracy == b->accuracy;
    if (kind == DN_CHART_WIDGET_ACTIVITY)
        return a->tasks == b->tasks && a->activity == b->activity &&
               g_strcmp0 (a->activity_layer, b->activity_layer) == 0;
    return a->shared == b->shared;
}

DnChartWidgetOverlay *dn_chart_widget_overlay_new (DnRunSnapshot *snapshot, const char *name,
                                                  gboolean baseline)
{
    DnChartWidgetOverlay *o = g_new0 (DnChartWidgetOverlay, 1);
    o->snapshot = dn_run_snapshot_ref (snapshot);
    o->name = g_strdup (name);
    o->baseline = baseline;
    return o;
}

void dn_chart_widget_overlay_free (gpointer p)
{
    DnChartWidgetOverlay *o = p;
    dn_run_snapshot_unref (o->snapshot);
    g_free (o->name);
    g_free (o);
}

void dn_chart_widget_set_overlays (DnChartWidget *self, GPtrArray *overlays)
{
    g_clear_pointer (&self->overlays, g_ptr_array_unref);
    if (overlays != NULL)
        self->overlays = g_ptr_array_ref (overlays);
    update_accessible (self);
    queue_render (self, TRUE);
}

void dn_chart_widget_set_snapshot (DnChartWidget *self, DnRunSnapshot *snapshot)
{
    /* a snapshot with the same history (a batch update) changes nothing drawn */
    if (snapshot != NULL && self->snapshot != NULL &&
        same_picture (self->kind, snapshot, self->snapshot)) {
        dn_run_snapshot_unref (self->snapshot);
        self->snapshot = dn_run_snapshot_ref (snapshot);
        return;
    }
    g_clear_pointer (&self->snapshot, dn_run_snapshot_unref);
    if (snapshot != NULL)
        self->snapshot = dn_run_snapshot_ref (snapshot);
    update_accessible (self);
    queue_render (self, FALSE);
}

void dn_chart_widget_set_last_epochs (DnChartWidget *self, int n)
{
    n = MAX (n, 0);
    if (self->last_epochs == n)
        return;
    self->last_epochs = n;
    dn_chart_widget_reset_zoom (self); /* one choice of epochs at a time */
    queue_render (self, TRUE);
    g_object_notify_by_pspec (G_OBJECT (self), props[PROP_LAST_EPOCHS]);
}

void dn_chart_widget_set_dark (DnChartWidget *self, gboolean dark)
{
    dark = !!dark;
    if (self->dark == dark)
        return;
    self->dark = dark;
    queue_render (self, TRUE);
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

gboolean dn_chart_widget_is_settled (DnChartWidget *self)
{
    return self->image != NULL && !self->rendering && !self->dirty;
}
