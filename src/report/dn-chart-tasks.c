/* dn-chart-tasks.c: the charts of continual-learning runs: every task's accuracy
 * as training moves through the tasks, and hidden-unit activity per task (the
 * Active Dendrites paper's Figure 6). Same palette, fonts and number formats as
 * the run charts. */
#include "dn-chart-private.h"

#include <math.h>

#define PT_TO_UNITS (96.0 / 72.0)

static void set_rgb (cairo_t *cr, DnRgb c, double a)
{
    cairo_set_source_rgba (cr, c.r, c.g, c.b, a);
}

static void text_at (cairo_t *cr, double x, double y, const char *s, double align_x,
                     double align_y)
{
    cairo_text_extents_t e;
    cairo_text_extents (cr, s, &e);
    cairo_move_to (cr, x - e.x_bearing - e.width * align_x, y - e.y_bearing - e.height * align_y);
    cairo_show_text (cr, s);
}

static void begin (cairo_t *cr, const DnChartStyle *style, double width, double height,
                   DnChartPalette *pal, double *fs)
{
    dn_chart_palette (pal, style->dark);
    *fs = (style->font_size > 0 ? style->font_size : 11.0) * PT_TO_UNITS;
    if (!style->transparent) {
        set_rgb (cr, pal->bg, 1.0);
        cairo_rectangle (cr, 0, 0, width, height);
        cairo_fill (cr);
    }
    cairo_select_font_face (cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size (cr, *fs);
}

static void title (cairo_t *cr, const DnChartPalette *pal, double fs, double width,
                   const char *text)
{
    cairo_save (cr);
    cairo_select_font_face (cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
    cairo_set_font_size (cr, fs * 1.1);
    set_rgb (cr, pal->fg, 1.0);
    text_at (cr, width / 2, fs * 0.6, text, 0.5, 0.0);
    cairo_restore (cr);
}

void dn_chart_draw_task_accuracy (cairo_t *cr, int tasks, const double *matrix, double width,
                                  double height, const DnChartStyle *style)
{
    DnChartStyle def;
    if (style == NULL) {
        dn_chart_style_init (&def);
        style = &def;
    }
    DnChartPalette pal;
    double fs;
    cairo_save (cr);
    begin (cr, style, width, height, &pal, &fs);
    title (cr, &pal, fs, width, "Accuracy of each task");

    /* y range: from the lowest measured value (rounded down to 10) to 100 */
    double lo = 100.0;
    int last_row = -1;
    for (int t = 0; t < tasks; t++)
        for (int j = 0; j <= t; j++) {
            double v = matrix[(size_t) t * tasks + j];
            if (isfinite (v)) {
                lo = MIN (lo, v);
                last_row = t;
            }
        }
    lo = MAX (0.0, floor (lo / 10.0) * 10.0);
    if (lo > 90.0)
        lo = 90.0;
    gboolean legend = tasks <= 12;
    double left = fs * 4.0, right = legend ? fs * 8.5 : fs * 1.5, top = fs * 2.6,
           bottom = fs * 3.6;
    double pw = width - left - right, ph = height - top - bottom;
    if (pw < 20 || ph < 20) {
        cairo_restore (cr);
        return;
    }
    /* grid and y ticks */
    char buf[32];
    for (double v = lo; v <= 100.0 + 1e-9; v += (100.0 - lo) <= 20 ? 2.0 : 10.0) {
        double y = top + ph * (1.0 - (v - lo) / (100.0 - lo));
        set_rgb (cr, pal.grid, 1.0);
        cairo_set_line_width (cr, 1.0);
        cairo_move_to (cr, left, y);
        cairo_line_to (cr, left + pw, y);
        cairo_stroke (cr);
        set_rgb (cr, pal.muted, 1.0);
        g_snprintf (buf, sizeof buf, "%.0f", v);
        text_at (cr, left - fs * 0.4, y, buf, 1.0, 0.5);
    }
    /* x: tasks trained, 1..tasks */
    /* the first and last points sit a dot's width inside the frame */
    double pad = fs * 0.6;
    double xstep = tasks > 1 ? (pw - 2 * pad) / (tasks - 1) : 0.0;
    int every = MAX (1, (int) ceil (tasks / MAX (1.0, pw / (fs * 3.0))));
    for (int t = 0; t < tasks; t++) {
        /* the last task always gets a label; a regular one too close to it gives way */
        if (t % every != 0 && t != tasks - 1)
            continue;
        if (t != tasks - 1 && tasks - 1 - t < every)
            continue;
        double x = left + (tasks > 1 ? pad + t * xstep : pw / 2);
        set_rgb (cr, pal.muted, 1.0);
        g_snprintf (buf, sizeof buf, "%d", t + 1);
        text_at (cr, x, top + ph + fs * 0.4, buf, 0.5, 0.0);
    }
    set_rgb (cr, pal.fg, 1.0);
    text_at (cr, left + pw / 2, height - fs * 0.4, "tasks trained", 0.5, 1.0);
    cairo_save (cr);
    cairo_translate (cr, fs * 0.2, top + ph / 2);
    cairo_rotate (cr, -G_PI / 2);
    text_at (cr, 0, 0, "test accuracy (%)", 0.5, 0.0);
    cairo_restore (cr);
    set_rgb (cr, pal.muted, 1.0);
    cairo_rectangle (cr, left, top, pw, ph);
    cairo_set_line_width (cr, 1.0);
    cairo_stroke (cr);

    if (last_row < 0) {
        set_rgb (cr, pal.muted, 1.0);
        text_at (cr, left + pw / 2, top + ph / 2, "No task evaluated yet", 0.5, 0.5);
        cairo_restore (cr);
        return;
    }
    cairo_rectangle (cr, left, top, pw, ph);
    cairo_clip (cr);
    /* one line per task (dots where a single point), then the mean */
    for (int pass = 0; pass < 2; pass++)
        for (int j = (pass == 0 ? 0 : -1); j < (pass == 0 ? tasks : 0); j++) {
            DnRgb col = pass == 0 ? dn_chart_rainbow (j, tasks, style->dark) : pal.fg;
            set_rgb (cr, col, pass == 0 ? 0.9 : 1.0);
            cairo_set_line_width (cr, pass == 0 ? fs * 0.16 : fs * 0.2);
            double dash[] = {fs * 0.5, fs * 0.35};
            cairo_set_dash (cr, dash, pass == 0 ? 0 : 2, 0);
            gboolean started = FALSE;
            for (int t = (pass == 0 ? j : 0); t < tasks; t++) {
                double v;
                if (pass == 0) {
                    v = matrix[(size_t) t * tasks + j];
                } else {
                    double s = 0.0;
                    int n = 0;
                    for (int k = 0; k <= t; k++)
                        if (isfinite (matrix[(size_t) t * tasks + k])) {
                            s += matrix[(size_t) t * tasks + k];
                            n++;
                        }
                    v = n == t + 1 ? s / n : NAN;
                }
                if (!isfinite (v))
                    continue;
                double x = left + (tasks > 1 ? pad + t * xstep : pw / 2);
                double y = top + ph * (1.0 - (v - lo) / (100.0 - lo));
                if (!started)
                    cairo_move_to (cr, x, y);
                else
                    cairo_line_to (cr, x, y);
                started = TRUE;
                cairo_stroke_preserve (cr);
                cairo_new_sub_path (cr);
                cairo_arc (cr, x, y, fs * (pass == 0 ? 0.28 : 0.2), 0, 2 * G_PI);
                cairo_fill (cr);
                cairo_move_to (cr, x, y);
            }
            cairo_new_path (cr);
        }
    cairo_reset_clip (cr);
    if (legend) {
        double lx = left + pw + fs * 0.8, ly = top + fs * 0.2;
        for (int j = -1; j < tasks; j++) {
            DnRgb col = j < 0 ? pal.fg : dn_chart_rainbow (j, tasks, style->dark);
            set_rgb (cr, col, 1.0);
            cairo_set_line_width (cr, j < 0 ? fs * 0.2 : fs * 0.16);
            double dash[] = {fs * 0.5, fs * 0.35};
            cairo_set_dash (cr, dash, j < 0 ? 2 : 0, 0);
            cairo_move_to (cr, lx, ly + fs * 0.5);
            cairo_line_to (cr, lx + fs * 1.4, ly + fs * 0.5);
            cairo_stroke (cr);
            cairo_set_dash (cr, NULL, 0, 0);
            set_rgb (cr, pal.fg, 1.0);
            if (j < 0)
                g_snprintf (buf, sizeof buf, "mean");
            else
                g_snprintf (buf, sizeof buf, "task %d", j + 1); /* counted from 1, as the app */
            text_at (cr, lx + fs * 1.8, ly + fs * 0.5, buf, 0.0, 0.5);
            ly += fs * 1.35;
        }
    }
    cairo_restore (cr);
}

void dn_chart_draw_activity (cairo_t *cr, int tasks, int units, const float *activity,
                             int show_units, const char *layer, double width, double height,
                             const DnChartStyle *style)
{
    DnChartStyle def;
    if (style == NULL) {
        dn_chart_style_init (&def);
        style = &def;
    }
    DnChartPalette pal;
    double fs;
    cairo_save (cr);
    begin (cr, style, width, height, &pal, &fs);
    int cols = MAX (1, MIN (show_units > 0 ? show_units : units, units));
    char buf[128];
    g_snprintf (buf, sizeof buf, "Hidden activity per task%s%s (first %d units)",
                layer != NULL ? ": " : "", layer != NULL ? layer : "", cols);
    title (cr, &pal, fs, width, buf);
    double left = fs * 4.5, right = fs * 6.0, top = fs * 2.6, bottom = fs * 3.2;
    double pw = width - left - right, ph = height - top - bottom;
    if (pw < 20 || ph < 20 || tasks < 1 || activity == NULL) {
        cairo_restore (cr);
        return;
    }
    double cw = pw / cols, chh = ph / tasks;
    /* green scale: background (0) to dark green (1), as the paper's map */
    DnRgb z = style->dark ? (DnRgb){0.12, 0.12, 0.12} : (DnRgb){0.97, 0.99, 0.96};
    DnRgb o = style->dark ? (DnRgb){0.45, 0.93, 0.45} : (DnRgb){0.0, 0.33, 0.12};
    for (int t = 0; t < tasks; t++)
        for (int u = 0; u < cols; u++) {
            double v = CLAMP (activity[(size_t) t * units + u], 0.0f, 1.0f);
            cairo_set_source_rgb (cr, z.r + (o.r - z.r) * v, z.g + (o.g - z.g) * v,
                                  z.b + (o.b - z.b) * v);
            cairo_rectangle (cr, left + u * cw, top + t * chh, ceil (cw), ceil (chh));
            cairo_fill (cr);
        }
    set_rgb (cr, pal.muted, 1.0);
    cairo_set_line_width (cr, 1.0);
    cairo_rectangle (cr, left, top, pw, ph);
    cairo_stroke (cr);
    int every_t = MAX (1, (int) ceil (tasks * fs * 1.2 / ph));
    for (int t = 0; t < tasks; t += every_t) {
        g_snprintf (buf, sizeof buf, "%d", t + 1);
        text_at (cr, left - fs * 0.4, top + (t + 0.5) * chh, buf, 1.0, 0.5);
    }
    int every_u = MAX (1, (int) ceil (cols * fs * 2.5 / pw));
    for (int u = 0; u < cols; u += every_u) {
        g_snprintf (buf, sizeof buf, "%d", u);
        text_at (cr, left + (u + 0.5) * cw, top + ph + fs * 0.3, buf, 0.5, 0.0);
    }
    set_rgb (cr, pal.fg, 1.0);
    text_at (cr, left + pw / 2, height - fs * 0.4, "hidden unit", 0.5, 1.0);
    cairo_save (cr);
    cairo_translate (cr, fs * 0.3, top + ph / 2);
    cairo_rotate (cr, -G_PI / 2);
    text_at (cr, 0, 0, "task", 0.5, 0.0);
    cairo_restore (cr);
    /* colour bar */
    double bx = left + pw + fs * 1.2, bw = fs * 1.0;
    for (int i = 0; i < 100; i++) {
        double v = 1.0 - i / 99.0;
        cairo_set_source_rgb (cr, z.r + (o.r - z.r) * v, z.g + (o.g - z.g) * v,
                              z.b + (o.b - z.b) * v);
        cairo_rectangle (cr, bx, top + ph * i / 100.0, bw, ceil (ph / 100.0) + 1);
        cairo_fill (cr);
    }
    set_rgb (cr, pal.muted, 1.0);
    cairo_rectangle (cr, bx, top, bw, ph);
    cairo_stroke (cr);
    text_at (cr, bx + bw + fs * 0.3, top, "1.0", 0.0, 0.0);
    text_at (cr, bx + bw + fs * 0.3, top + ph, "0.0", 0.0, 1.0);
    cairo_restore (cr);
}

char *dn_chart_describe_task_accuracy (int tasks, const double *matrix)
{
    GString *s = g_string_new (NULL);
    int last = -1;
    for (int t = 0; t < tasks; t++)
        if (isfinite (matrix[(size_t) t * tasks]))
            last = t;
    if (last < 0) {
        g_string_append_printf (s, "Accuracy of %d tasks: no task evaluated yet.", tasks);
        return g_string_free (s, FALSE);
    }
    char buf[32];
    double sum = 0.0;
    g_string_append_printf (s, "Accuracy after %d of %d tasks:", last + 1, tasks);
    for (int j = 0; j <= last; j++) {
        double v = matrix[(size_t) last * tasks + j];
        sum += v;
        g_string_append_printf (s, "%s task %d %s", j ? "," : "", j + 1,
                                dn_chart_format_short (buf, sizeof buf, v));
    }
    g_string_append_printf (s, "; mean %s %%.", dn_chart_format_short (buf, sizeof buf, sum / (last + 1)));
    return g_string_free (s, FALSE);
}
