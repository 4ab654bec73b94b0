/* dn-confusion-widget.c: the confusion matrix heat map (dn-confusion-widget.h). */
#include "dn-confusion-widget.h"

#include <adwaita.h>
#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#define AXIS_GAP 6.0    /* between a label and the cells */
#define TITLE_SIZE 18.0 /* the axis titles' band */

struct _DnConfusionWidget {
    GtkWidget parent_instance;
    DnConfusion *matrix;
    char **names; /* n_classes entries */
    char *summary;
};

G_DEFINE_FINAL_TYPE (DnConfusionWidget, dn_confusion_widget, GTK_TYPE_WIDGET)

static int64_t row_total (const DnConfusion *c, int t)
{
    int64_t sum = 0;
    for (int p = 0; p < c->n_classes; p++)
        sum += dn_confusion_at (c, t, p);
    return sum;
}

static void set_source (cairo_t *cr, const double rgb[3], double alpha)
{
    cairo_set_source_rgba (cr, rgb[0], rgb[1], rgb[2], alpha);
}

static double text_width (cairo_t *cr, const char *s)
{
    cairo_text_extents_t e;
    cairo_text_extents (cr, s, &e);
    return e.x_advance;
}

/* Draws s ending at x (right-aligned), or centred on x, cut to fit max_w. */
static void show_text (cairo_t *cr, const char *s, double x, double y, double max_w,
                       gboolean centred)
{
    g_autofree char *t = g_strdup (s);
    glong chars = g_utf8_strlen (t, -1);
    while (chars > 1 && text_width (cr, t) > max_w) {
        chars--;
        char *end = g_utf8_offset_to_pointer (t, chars - 1);
        strcpy (end, "…");
    }
    double w = text_width (cr, t);
    cairo_move_to (cr, centred ? x - w / 2 : x - w, y);
    cairo_show_text (cr, t);
}

static void draw (DnConfusionWidget *self, cairo_t *cr, double width, double height)
{
    gboolean dark = adw_style_manager_get_dark (adw_style_manager_get_default ());
    const double fg[3] = {dark ? 1.0 : 0.0, dark ? 1.0 : 0.0, dark ? 1.0 : 0.0};
    const double low[3] = {dark ? 0.19 : 0.97, dark ? 0.19 : 0.97, dark ? 0.21 : 0.98};
    const double high[3] = {dark ? 0.21 : 0.11, dark ? 0.52 : 0.44, dark ? 0.89 : 0.85};
    const DnConfusion *c = self->matrix;
    cairo_select_font_face (cr, "Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    if (c == NULL) {
        cairo_set_font_size (cr, 13.0);
        set_source (cr, fg, 0.55);
        show_text (cr, _ ("The confusion matrix appears here once the model is evaluated"),
                   width / 2, height / 2, width - 12, TRUE);
        return;
    }
    int n = c->n_classes;
    double font = CLAMP (fmin (width, height) / (n + 4) * 0.42, 7.0, 13.0);
    cairo_set_font_size (cr, font);
    double label_w = 0;
    for (int k = 0; k < n; k++)
        label_w = fmax (label_w, text_width (cr, self->names[k]));
    label_w = fmin (label_w, fmax (40.0, width * 0.22));
    double left = TITLE_SIZE + label_w + AXIS_GAP, top = TITLE_SIZE + font * 1.4 + AXIS_GAP;
    double side = fmax (0.0, fmin (width - left - 4, height - top - 4));
    double cell = side / n;
    if (cell <= 0)
        return;

    /* axis titles */
    cairo_set_font_size (cr, 12.0);
    set_source (cr, fg, 0.7);
    show_text (cr, _ ("Predicted class"), left + side / 2, 13.0, side, TRUE);
    cairo_save (cr);
    cairo_translate (cr, 13.0, top + side / 2);
    cairo_rotate (cr, -G_PI / 2);
    show_text (cr, _ ("True class"), 0, 0, side, TRUE);
    cairo_restore (cr);

    /* class names: every one when they fit, else every k-th */
    cairo_set_font_size (cr, font);
    int step = (int) ceil (font * 1.2 / cell);
    step = MAX (step, 1);
    for (int k = 0; k < n; k += step) {
        set_source (cr, fg, 0.85);
        show_text (cr, self->names[k], left - AXIS_GAP, top + (k + 0.5) * cell + font * 0.35,
                   label_w, FALSE);
        show_text (cr, self->names[k], left + (k + 0.5) * cell, top - AXIS_GAP,
                   fmax (cell * step - 2, font), TRUE);
    }

    /* cells, each counted when a number fits */
    double cell_font = fmin (font, cell * 0.36);
    cairo_set_font_size (cr, cell_font);
    for (int t = 0; t < n; t++) {
        int64_t total = row_total (c, t);
        for (int p = 0; p < n; p++) {
            int64_t v = dn_confusion_at (c, t, p);
            double rate = total > 0 ? (double) v / total : 0.0;
            double rgb[3];
            for (int i = 0; i < 3; i++)
                rgb[i] = low[i] + (high[i] - low[i]) * rate;
            set_source (cr, rgb, 1.0);
            cairo_rectangle (cr, left + p * cell, top + t * cell, cell - (cell > 6),
                             cell - (cell > 6));
            cairo_fill (cr);
            if (cell_font < 6.5 || v == 0)
                continue;
            char buf[32];
            g_snprintf (buf, sizeof buf, "%" G_GINT64_FORMAT, (gint64) v);
            if (text_width (cr, buf) > cell - 2)
                continue;
            gboolean on_dark = dark || rate > 0.45;
            cairo_set_source_rgba (cr, on_dark ? 1 : 0, on_dark ? 1 : 0, on_dark ? 1 : 0, 0.9);
            show_text (cr, buf, left + (p + 0.5) * cell, top + (t + 0.5) * cell + cell_font * 0.35,
                       cell, TRUE);
        }
    }
}

static void dn_confusion_widget_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
    DnConfusionWidget *self = DN_CONFUSION_WIDGET (widget);
    double w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget);
    cairo_t *cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, w, h));
    draw (self, cr, w, h);
    cairo_destroy (cr);
}

static void dn_confusion_widget_measure (GtkWidget *widget, GtkOrientation o, int for_size,
                                         int *min, int *nat, int *min_base, int *nat_base)
{
    *min = 220;
    *nat = 420;
}

static void on_dark (DnConfusionWidget *self)
{
    gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void dn_confusion_widget_dispose (GObject *object)
{
    DnConfusionWidget *self = DN_CONFUSION_WIDGET (object);
    g_signal_handlers_disconnect_by_data (adw_style_manager_get_default (), self);
    g_clear_pointer (&self->matrix, dn_confusion_free);
    g_clear_pointer (&self->names, g_strfreev);
    g_clear_pointer (&self->summary, g_free);
    G_OBJECT_CLASS (dn_confusion_widget_parent_class)->dispose (object);
}

static void dn_confusion_widget_class_init (DnConfusionWidgetClass *klass)
{
    GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
    G_OBJECT_CLASS (klass)->dispose = dn_confusion_widget_dispose;
    widget_class->snapshot = dn_confusion_widget_snapshot;
    widget_class->measure = dn_confusion_widget_measure;
    gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void dn_confusion_widget_init (DnConfusionWidget *self)
{
    g_signal_connect_swapped (adw_style_manager_get_default (), "notify::dark",
                              G_CALLBACK (on_dark), self);
    gtk_widget_set_hexpand (GTK_WIDGET (self), TRUE);
    gtk_widget_set_vexpand (GTK_WIDGET (self), TRUE);
    gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                    _ ("Confusion matrix"), -1);
}

GtkWidget *dn_confusion_widget_new (void)
{
    return g_object_new (DN_TYPE_CONFUSION_WIDGET, NULL);
}

void dn_confusion_widget_set_matrix (DnConfusionWidget *self, const DnConfusion *c,
                                     const char *const *class_names)
{
    g_clear_pointer (&self->matrix, dn_confusion_free);
    g_clear_pointer (&self->names, g_strfreev);
    g_clear_pointer (&self->summary, g_free);
    if (c != NULL) {
        self->matrix = dn_confusion_new (c->n_classes);
        memcpy (self->matrix->counts, c->counts, sizeof (int64_t) * c->n_classes * c->n_classes);
        self->matrix->total = c->total;
        self->names = g_new0 (char *, c->n_classes + 1);
        gboolean named = class_names != NULL;
        int64_t right = 0;
        for (int k = 0; k < c->n_classes; k++) {
            named = named && class_names[k] != NULL;
            self->names[k] = named ? g_strdup (class_names[k]) : g_strdup_printf ("%d", k);
            right += dn_confusion_at (c, k, k);
        }
        self->summary = g_strdup_printf (_ ("Confusion matrix of %d classes: %" G_GINT64_FORMAT
                                            " samples, %" G_GINT64_FORMAT " on the diagonal"),
                                         c->n_classes, (gint64) c->total, (gint64) right);
    }
    gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION,
                                    self->summary != NULL ? self->summary : "", -1);
    gtk_widget_queue_draw (GTK_WIDGET (self));
}

const char *dn_confusion_widget_get_summary (DnConfusionWidget *self)
{
    return self->summary;
}
